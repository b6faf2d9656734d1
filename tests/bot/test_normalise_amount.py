"""Tests for parse_amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.normalise import parse_amount

AMOUNTS = [
    # Chinese numerals with a unit.
    ("三百二十元", "320.00"),
    ("两千三百元整", "2300.00"),
    ("三百八十八块八毛八", "388.88"),
    ("一百块零五毛", "100.50"),
    ("三块五", "3.50"),
    ("十块", "10.00"),
    ("一块钱", "1.00"),
    ("三点五元", "3.50"),
    ("壹佰元整", "100.00"),
    ("两百块", "200.00"),
    # Arabic digits with a unit.
    ("320块5", "320.50"),
    ("320块5毛", "320.50"),
    ("3块5", "3.50"),
    ("88元", "88.00"),
    ("380块钱", "380.00"),
    ("88.8元", "88.80"),
    ("收款 88.5元", "88.50"),
    ("100rmb", "100.00"),
    ("RMB 100", "100.00"),
    ("rmb100", "100.00"),
    ("人民币500元", "500.00"),
    ("¥1,280.00", "1280.00"),
    ("￥88", "88.00"),
    ("¥ 66.6", "66.60"),
    ("1.2万元", "12000.00"),
    ("３２０元", "320.00"),
    ("３２０．５０元", "320.50"),
    ("12,345元", "12345.00"),
    # Jiao and fen only.
    ("五毛", "0.50"),
    ("八毛八", "0.88"),
    ("5毛5", "0.55"),
    ("两毛钱", "0.20"),
    # A whole message that is just a number.
    ("380", "380.00"),
    ("380。", "380.00"),
    (" 380 ！", "380.00"),
    ("88.8", "88.80"),
    ("320.50", "320.50"),
    ("0.5", "0.50"),
    ("一千零五十", "1050.00"),
    ("1.2万", "12000.00"),
    ("两万三", "23000.00"),
    ("一万二千五", "12500.00"),
    ("三百五", "350.00"),
    ("2万5", "25000.00"),
    ("2万3千", "23000.00"),
    ("大概380左右", "380.00"),
    ("金额大概三百", "300.00"),
    ("是380吧", "380.00"),
    # Numbers introduced by a money word.
    ("金额是380", "380.00"),
    ("不对，金额是380", "380.00"),
    ("扣了380", "380.00"),
    ("刷了三百", "300.00"),
    ("金额100000", "100000.00"),
    ("一共消费了1280", "1280.00"),
    ("收款 1,280", "1280.00"),
    ("昨天下午三点左右刷了一笔三百二", "320.00"),
    ("周三刷了300", "300.00"),
    ("刷了14:05 380", "380.00"),
    ("金额是88.88元", "88.88"),
    # Amounts next to identifiers, dates and times.
    ("订单号12345678 380元", "380.00"),
    ("参考号 1234 5678 9012 金额380", "380.00"),
    ("凭证号000123，金额是456", "456.00"),
    ("尾号1234的卡刷了500块", "500.00"),
    ("11月20日14:05刷了380元", "380.00"),
    ("11-20 300元", "300.00"),
    ("两个小时前扣了300", "300.00"),
    ("下午两点十分刷了六十八块", "68.00"),
    ("刷了两次，每次190元", "190.00"),
    # The last amount wins when the merchant corrects himself.
    ("380，不对，是三百八十块", "380.00"),
    ("三百元，不对，是三百五十元", "350.00"),
    ("版本2.3.1，刷了20元", "20.00"),
]

NOT_AMOUNTS = [
    "",
    "你好",
    "3.5k",
    "123456789012",
    "参考号123456789012",
    "凭证号 000123",
    "流水号123456",
    "订单号20261120",
    "单号 88888888",
    "授权码123456",
    "尾号1234",
    "卡号后四位是1234",
    "14:05",
    "14：05",
    "11月20日",
    "三点",
    "下午两点十分",
    "半小时前",
    "十分钟前",
    "2026-11-20",
    "20号",
    "两次",
    "扣了两笔",
    "100000",
    "000380",
    "0",
    "零",
    "百",
    "钱",
    "100%",
    "13800138000",
    "版本2.3.1",
    "周三",
    "昨天",
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS)
def test_parse_amount(text: str, expected: str) -> None:
    result = parse_amount(text)
    assert result == Decimal(expected)
    assert result is not None
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_not_an_amount(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("其实是256", "256.00"), ("说错了 是三百八", "380.00")],
)
def test_bare_number_counts_when_the_message_is_about_the_amount(text: str, expected: str) -> None:
    assert parse_amount(text) is None  # no money context: a number alone is not an amount
    assert parse_amount(text, bare=True) == Decimal(expected)


@pytest.mark.parametrize("text", ["其实是三点", "参考号612300000001", "扣了两次", "11月20日"])
def test_bare_still_skips_times_ids_and_counts(text: str) -> None:
    assert parse_amount(text, bare=True) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("参考号613301000301 昨天下午三点 268", "268.00"),
        ("268 半小时前 机器显示超时", "268.00"),
        ("昨天下午三点 二百六十八", "268.00"),
        ("下午三点 是256", "256.00"),
        ("凭证号000288 昨天 350", "350.00"),
    ],
)
def test_a_lone_number_beside_other_details_is_the_amount(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "参考号613301000301 昨天下午三点",  # nothing left but the details
        "两笔 88 99",  # two numbers: which one is unclear, ask
        "刷了一下 一直没反应",  # 一 is a word
        "终端30000003 下午两点",  # too long for money
        "参考号613301000301 3点 5",  # a single digit is no amount
    ],
)
def test_no_lone_amount_is_guessed(text: str) -> None:
    assert parse_amount(text) is None
