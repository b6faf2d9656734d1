"""Find and explain ISO 8583 field 39 response codes (texts from the service's vocabulary)."""

from __future__ import annotations

import re

from actions.vocabulary import ResponseCode, response_codes

__all__ = ["ResponseCode", "explain", "find_code"]

_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{2}|[Aa]0)(?![0-9A-Za-z])")


def find_code(text: str) -> str | None:
    """Find a two-character response code in free text."""
    match = _CODE_IN_TEXT.search(text)
    return match.group(1).upper() if match else None


def explain(code: str) -> ResponseCode | None:
    """Return the meaning and advice for a code, if we know it."""
    return response_codes().get(code.strip().upper())
