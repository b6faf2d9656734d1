"""Card numbers: masked to first 6 / last 4 on the way in, never kept or logged whole."""

from __future__ import annotations

import logging
import re

_FULL = re.compile(r"^\d{13,19}$")
_MASKED = re.compile(r"^(\d{6})[*xX#]{2,9}(\d{4})$")
# In free text, a card number is a run of 13-19 digits, or written the way cards print it:
# groups of four (6222 0212 3456 7890 128) or 4-6-5 (Amex). Any digits joined by any space
# would also join a 12-digit reference and the amount after it ("参考号613301000301 268块")
# into one Luhn-valid "card" one time in ten, and mask both values away.
_PAN_IN_TEXT = re.compile(
    r"(?<!\d)(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}(?:\1\d{4})?(?:\1\d{1,4})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5})(?![\d])"
)


class CardNumberError(ValueError):
    """The text is neither a card number nor a masked one."""


def split_card(card_no: str) -> tuple[str, str]:
    """Return (first 6, last 4) of a full or already masked card number."""
    if card_no.isdigit() and 13 <= len(card_no) <= 19:
        return card_no[:6], card_no[-4:]
    compact = re.sub(r"[\s-]", "", card_no)
    if _FULL.match(compact):
        return compact[:6], compact[-4:]
    masked = _MASKED.match(compact)
    if masked:
        return masked.group(1), masked.group(2)
    raise CardNumberError("not a card number (13-19 digits, or first 6 + mask + last 4)")


def mask(card_bin: str, last4: str) -> str:
    """Render the stored halves the one way a card is ever shown."""
    return f"{card_bin}******{last4}"


def luhn_ok(digits: str) -> bool:
    """Check the Luhn digit every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A run introduced as a card (卡号, 银行卡, 刷卡, card no.) is one whatever its check digit; so is
# one that starts with a scheme's prefix (BIN) unless an identifier label claims it (订单号…).
# The bot applies the same rule before it takes a reference (actions/normalise/_cards.py).
_CARD_LABEL = re.compile(
    r"(?:银行卡|信用卡|借记卡|储蓄卡|卡号|卡)(?:卡号|号码|号)?(?:是|为|:|：|#|\s|号码)*$"
    r"|card\s*(?:no\.?|number|#)?(?:是|为|:|：|#|\s)*$",
    re.IGNORECASE,
)
_ID_LABEL = re.compile(
    r"(?:参考号|参考编号|参考|rrn|凭证号|流水号|流水|追踪号|trace|授权码|授权号|订单号|订单编号"
    r"|订单|单号|交易号|商户号|商户编号|终端号|终端编号|批次号)(?:是|为|:|：|#|\s|号码|no\.?)*$",
    re.IGNORECASE,
)
_BIN = re.compile(r"62|4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|35|3[47]")


def is_card_number(digits: str, before: str) -> bool:
    """Tell whether a digit run, with the text written before it, is a card number."""
    if luhn_ok(digits):
        # Luhn keeps 15-digit merchant numbers and other ids mostly readable in logs.
        return True
    if not 13 <= len(digits) <= 19:
        return False
    head = before[-12:]
    if _CARD_LABEL.search(head):
        return True
    return _BIN.match(digits) is not None and not _ID_LABEL.search(head)


def _mask_match(m: re.Match[str]) -> str:
    digits = "".join(str(int(ch)) for ch in m.group(0) if ch.isdigit())  # full-width too
    if is_card_number(digits, m.string[: m.start()]):
        return mask(digits[:6], digits[-4:])
    return m.group(0)


def mask_pans(text: str) -> str:
    """Mask every card number in free text: labelled as a card, with a BIN, or Luhn-valid."""
    return _PAN_IN_TEXT.sub(_mask_match, text)


class PanMaskingFilter(logging.Filter):
    """Mask card numbers in a log record (the service's logs: dropdesk.logs masks every line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pans(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
