"""Every way an amount is written gives its exact value, or is confirmed, or is none (issue 18)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.normalise import parse_amount, read_amount

from .amount_table import AMOUNT_TABLE


def reading_of(text: str) -> str | None:
    """Render a reading the way the table writes it: "1050.00", "?1050.00" or None."""
    reading = read_amount(text)
    if reading is None:
        return None
    assert reading.value.as_tuple().exponent == -2
    return ("" if reading.sure else "?") + f"{reading.value:.2f}"


def test_the_table_is_large_and_has_no_duplicates() -> None:
    texts = [text for text, _ in AMOUNT_TABLE]
    assert len(texts) >= 150
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(("text", "expected"), AMOUNT_TABLE)
def test_amount_table(text: str, expected: str | None) -> None:
    assert reading_of(text) == expected


@pytest.mark.parametrize(("text", "expected"), AMOUNT_TABLE)
def test_an_unsure_amount_is_never_taken_without_asking(text: str, expected: str | None) -> None:
    sure = expected is not None and not expected.startswith("?")
    assert parse_amount(text) == (Decimal(expected) if sure else None)
