"""A card number is never a reference; only its last four digits are kept (issue 18)."""

from __future__ import annotations

import pytest

from actions.normalise import find_references, parse_amount, parse_card_last4, parse_reference
from actions.normalise._cards import is_card, luhn_ok


@pytest.mark.parametrize(
    ("text", "last4"),
    [
        ("卡号6222021234567890", "7890"),  # Luhn check fails: still a card
        ("卡号 6222021234567891", "7891"),
        ("卡号：６２２２０２１２３４５６７８９０", "7890"),
        ("银行卡6222 0212 3456 7890", "7890"),
        ("银行卡号是6222-0212-3456-7890-128", "0128"),
        ("刷卡6222021234567899 没出小票", "7899"),
        ("card no. 1234567890123456", "3456"),  # labelled: no BIN needed
        ("6222021234567890123", "0123"),  # UnionPay BIN, unlabelled
        ("4200123456789012345", "2345"),  # Visa BIN
        ("5105105105105100", "5100"),
        ("2221000000000009", "0009"),
        ("3530111333300000", "0000"),
        ("378282246310005", "0005"),
        ("3782 822463 10005", "0005"),
    ],
)
def test_a_card_number_is_never_a_reference(text: str, last4: str) -> None:
    assert parse_reference(text) is None
    assert parse_card_last4(text) == last4
    assert parse_amount(text) is None


def test_the_reference_beside_a_card_number_is_still_read() -> None:
    text = "卡号：4111111111111112 参考号612300000001 金额268元"
    assert [r.value for r in find_references(text)] == ["612300000001"]
    assert parse_card_last4(text) == "1112"
    assert str(parse_amount(text)) == "268.00"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("参考号612300000001", "612300000001"),  # 12 digits: a reference
        ("凭证号000123", "000123"),
        ("订单号4200123456789012345", "4200123456789012345"),  # labelled, check digit off
        ("订单号1200123456789012345", "1200123456789012345"),
        ("1200123456789012345", "1200123456789012345"),  # no BIN, check digit off
        ("订单号 WX2026112012345678", "WX2026112012345678"),
        ("2026120312345678", "2026120312345678"),  # 2026 is below Mastercard's 2221
        ("4200000123202612031234567890", "4200000123202612031234567890"),  # WeChat, 28 digits
    ],
)
def test_references_stay_references(text: str, value: str) -> None:
    found = parse_reference(text)
    assert found is not None and found.value == value


def test_a_labelled_order_number_with_a_bin_and_a_valid_check_digit_is_a_card() -> None:
    assert luhn_ok("4111111111111111")
    assert parse_reference("订单号4111111111111111") is None


@pytest.mark.parametrize(
    ("digits", "card_label", "id_label", "expected"),
    [
        ("6222021234567890", False, False, True),
        ("1200123456789012", False, False, False),
        ("1200123456789012", True, False, True),
        ("6222021234567890", False, True, False),
        ("4111111111111111", False, True, True),
        ("612300000001", True, False, False),  # 12 digits: never a card
        ("62220212345678901234", True, False, False),  # 20 digits
    ],
)
def test_is_card(digits: str, card_label: bool, id_label: bool, expected: bool) -> None:
    assert is_card(digits, card_label=card_label, id_label=id_label) is expected
