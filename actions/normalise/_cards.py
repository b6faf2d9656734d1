"""Tell a payment card number in a merchant's text from a transaction reference.

A run of 13-19 digits is a card when it is introduced as one (卡号, 银行卡, card, 刷卡), or
when it starts with a card scheme's prefix (BIN) and no identifier label claims it, whatever its
check digit says. A Luhn-valid run is a card too (the service masks those in transcripts); under
an identifier label (订单号…) only a Luhn-valid run with a BIN is. The service applies the same
rule when it masks transcripts and logs (api/dropdesk/card.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_CARD_LABEL = (
    r"(?:银行卡|信用卡|借记卡|储蓄卡|卡号|卡)(?:卡号|号码|号)?(?:是|为|:|#|\s|号码)*$"
    r"|card\s*(?:no\.?|number|#)?(?:是|为|:|#|\s)*$"
)
_ID_LABEL = (
    r"(?:参考号|参考编号|参考|rrn|凭证号|流水号|流水|追踪号|trace|授权码|授权号|订单号|订单编号"
    r"|订单|单号|交易号|商户号|商户编号|终端号|终端编号|批次号)(?:是|为|:|#|\s|号码|no\.?)*$"
)
_BEFORE_CARD = re.compile(_CARD_LABEL)
_BEFORE_ID = re.compile(_ID_LABEL)
# Written whole, in fours (6222 0212 3456 7890 128) or 4-6-5 (Amex). Any digits joined by any
# space would also join a 12-digit reference and the amount after it.
_RUN = re.compile(
    r"(?<![0-9a-z])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}(?:\1\d{4})?(?:\1\d{1,4})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5})(?![0-9a-z])"
)
_BIN = re.compile(r"62|4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|35|3[47]")


@dataclass(frozen=True)
class CardNumber:
    """A card number found in (lowercased, width-folded) text, and where it is written."""

    start: int
    end: int
    digits: str

    @property
    def last4(self) -> str:
        return self.digits[-4:]


def luhn_ok(digits: str) -> bool:
    """Check the Luhn digit every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card(digits: str, *, card_label: bool, id_label: bool) -> bool:
    """Decide whether a digit run is a card number, by its label, its prefix and its check digit."""
    if not 13 <= len(digits) <= 19:
        return False
    if card_label:
        return True
    has_bin = _BIN.match(digits) is not None
    if id_label:
        return has_bin and luhn_ok(digits)
    return has_bin or luhn_ok(digits)


def find_cards(norm: str) -> Iterator[CardNumber]:
    """Every card number in lowercased, width-folded text."""
    for m in _RUN.finditer(norm):
        digits = re.sub(r"\D", "", m.group())
        head = norm[max(0, m.start() - 12) : m.start()]
        card_label = _BEFORE_CARD.search(head) is not None
        id_label = _BEFORE_ID.search(head) is not None
        if is_card(digits, card_label=card_label, id_label=id_label):
            yield CardNumber(m.start(), m.end(), digits)
