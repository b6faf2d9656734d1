"""Tests for parse_reference and parse_card_last4."""

from __future__ import annotations

import pytest

from actions.normalise import (
    Reference,
    RefKind,
    parse_card_last4,
    parse_reference,
    says_no_reference,
)

REF, TRACE, ORDER, AUTH = RefKind.REF_NO, RefKind.TRACE_NO, RefKind.ORDER_NO, RefKind.AUTH_CODE

REFERENCES = [
    # Labelled: the label decides the kind.
    ("参考号123456789012", "123456789012", REF),
    ("参考号 1234 5678 9012", "123456789012", REF),
    ("参考号是1234-5678-9012", "123456789012", REF),
    ("参考号是１２３４－５６７８－９０１２", "123456789012", REF),
    ("检索参考号：12345678901A", "12345678901A", REF),
    ("RRN: 6123 4567 8901", "612345678901", REF),
    ("凭证号000123", "000123", TRACE),
    ("流水号：000123", "000123", TRACE),
    ("凭证号 000 123", "000123", TRACE),
    ("授权码 a1b2c3", "A1B2C3", AUTH),
    ("授权码123456", "123456", AUTH),
    ("订单号20261120", "20261120", ORDER),
    ("订单号 WX2026112012345678", "WX2026112012345678", ORDER),
    ("订单号是abc12345678", "ABC12345678", ORDER),
    ("单号 88888888", "88888888", ORDER),
    ("订单号 12345678 380元", "12345678", ORDER),
    ("订单号12345678 2026-11-20", "12345678", ORDER),
    ("金额380，凭证号000456", "000456", TRACE),
    ("参考号123456789012，金额380元，14:05", "123456789012", REF),
    # 订单号 is used loosely: a 6-digit value is read as a trace number.
    ("订单号123456", "123456", TRACE),
    ("单号 654321", "654321", TRACE),
    # Unlabelled: the shape decides.
    ("123456789012", "123456789012", REF),
    ("１２３４５６７８９０１２", "123456789012", REF),
    ("A1B2C3D4E5F6", "A1B2C3D4E5F6", REF),
    ("000123", "000123", TRACE),
    ("号码是 000789 吧", "000789", TRACE),
    ("我的单子abc12345678", "ABC12345678", ORDER),
    ("12345678", "12345678", ORDER),
    ("昨天380元那笔，1200123456789012345", "1200123456789012345", ORDER),
]

NOT_REFERENCES = [
    "",
    "你好",
    "hello world",
    "380元",
    "100000元",
    "¥1,280.00",
    "88.88",
    "14:05",
    "2026-11-20 14:05",
    "11月20日",
    "20261120",
    "13800138000",
    "尾号1234",
    "卡号后四位是1234",
    "1234",
    "12345",
    "1234567",
    "参考号123456",
    "凭证号 12345",
    "批次号000123",
    "商户号123456789012345",
    "终端号12345678",
    "622202******1234",
    "卡号6222 **** **** 1234",
    "刷了两次",
]


@pytest.mark.parametrize(("text", "value", "kind"), REFERENCES)
def test_parse_reference(text: str, value: str, kind: RefKind) -> None:
    assert parse_reference(text) == Reference(value, kind)


@pytest.mark.parametrize("text", NOT_REFERENCES)
def test_not_a_reference(text: str) -> None:
    assert parse_reference(text) is None


def test_kind_values() -> None:
    assert [k.value for k in RefKind] == ["ref_no", "trace_no", "order_no", "auth_code"]
    assert RefKind("trace_no") is TRACE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("尾号1234", "1234"),
        ("尾号是１２３４", "1234"),
        ("卡号后四位是1234", "1234"),
        ("末四位 1234", "1234"),
        ("后4位：8888", "8888"),
        ("卡号6222 **** **** 5678", "5678"),
        ("622202******4321", "4321"),
        ("尾号12345", None),
        ("1234", None),
        ("参考号123456789012", None),
        ("380元", None),
    ],
)
def test_parse_card_last4(text: str, expected: str | None) -> None:
    assert parse_card_last4(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "四个小时前刷了66元，没有单号，不知道顾客付没付",
        "没有参考号 三点刷的100",
        "小票没打出来，顾客说扣钱了",
        "单号不知道",
        "参考号我不知道",
        "忘了单号了",
        "没有小票 也没有参考号",
        "凭证号丢了",
        "无单号",
        "小票打不出来",
    ],
)
def test_says_no_reference(text: str) -> None:
    assert says_no_reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "参考号612300000001",
        "刚才刷了66块",
        "钱没到账 参考号是612300000001",
        "没有单号，哦找到了，参考号612300000001",  # the reference wins
        "参考号没到账",
        "参考号没有显示",
        "小票打出来了",
    ],
)
def test_does_not_say_no_reference(text: str) -> None:
    assert not says_no_reference(text)
