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


def _mask_match(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    # Luhn keeps 15-digit merchant numbers and other ids mostly readable in logs.
    return mask(digits[:6], digits[-4:]) if luhn_ok(digits) else m.group(0)


def mask_pans(text: str) -> str:
    """Mask every Luhn-valid card-number-like digit run in free text."""
    return _PAN_IN_TEXT.sub(_mask_match, text)


class PanMaskingFilter(logging.Filter):
    """Mask card numbers in a log record (the service's logs: dropdesk.logs masks every line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_pans(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True

