"""What the diagnosis answers say: "charge again" only where the customer was not charged, and
the advice each fact calls for. Every answer render() can give is read from bot/domain.yml."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pytest
from rasa.shared.utils.io import read_yaml_file

from actions import vocabulary
from actions.diagnosis import render
from actions.merchant_claims import Claims

from .conftest import ROOT

RESPONSES: dict[str, Any] = read_yaml_file(ROOT / "bot" / "domain.yml")["responses"]
# 重新收款 / 重新收一次款 / 重新付一下 / 再付一次 / 再刷一次 / 重付 …, said or negated: a merchant
# skimming the answer must never read it where the customer has paid.
CHARGE_AGAIN = re.compile(
    r"重新(?:收|付|刷|扫|支付)|再(?:付|刷|扫|收)(?:一[次下遍笔]|款)|重[收付刷]"
)
TODAY = dt.date(2026, 11, 25)
SLOTS = {"order_ref": "612300000001", "amount": "320.50"}
CODES = [*vocabulary.drop_codes(), "something_new"]
HOWS = [None, "reversed", "voided", "refunded"]
CLAIMS = [
    Claims(charged, not_arrived) for charged, not_arrived in itertools.product((0, 1), (0, 1))
]
# Everything else render() looks at: dates ahead, past or missing, escalation, void or refund.
DATES = ["2026-11-26", "2026-11-25", "2026-11-20", None]
SHAPES: list[dict[str, Any]] = [
    {"needs_human": False, "next_steps": []},
    {"needs_human": True, "next_steps": ["escalate"]},
    {"needs_human": False, "next_steps": ["void_extra_today"]},
    {"needs_human": False, "next_steps": ["refund_extra"]},
]


def text(response: str) -> str:
    return "\n".join(variant["text"] for variant in RESPONSES[response])


def buttons(response: str) -> list[str]:
    return [b["payload"] for variant in RESPONSES[response] for b in variant.get("buttons", [])]


def charge_again_allowed(code: str, how: str | None, claims: Claims) -> bool:
    """Only where the customer has not paid: declined, an automatic reversal, or nothing found
    while the merchant said neither that the customer was charged nor that money is missing."""
    if code == "declined":
        return True
    if code == "reversed":
        return how in (None, "reversed")
    if code == "not_found":
        return not claims.charged and not claims.not_arrived
    return False


def answers(code: str, how: str | None, claims: Claims) -> set[str]:
    """Every response render() picks for this code, reversal kind and claim."""
    picked = set()
    for date, shape in itertools.product(DATES, SHAPES):
        details = {"how": how, "money_back_by": date, "expected_date": date}
        result = {"transactions": [], "details": details, **shape}
        picked.add(render(code, result, SLOTS, today=TODAY, claims=claims).response)
    return picked


@pytest.mark.parametrize(
    ("code", "how", "claims"),
    list(itertools.product(CODES, HOWS, CLAIMS)),
    ids=lambda value: str(value),
)
def test_charge_again_is_said_exactly_where_the_customer_was_not_charged(
    code: str, how: str | None, claims: Claims
) -> None:
    allowed = charge_again_allowed(code, how, claims)
    for response in answers(code, how, claims):
        assert bool(CHARGE_AGAIN.search(text(response))) is allowed, (response, text(response))


def test_no_other_response_in_the_domain_says_charge_again() -> None:
    allowed = {
        response
        for code, how, claims in itertools.product(CODES, HOWS, CLAIMS)
        if charge_again_allowed(code, how, claims)
        for response in answers(code, how, claims)
    }
    saying = {name for name in RESPONSES if CHARGE_AGAIN.search(text(name))}
    assert saying == allowed


@pytest.mark.parametrize(
    ("phrase", "charges_again"),
    [
        ("请重新收一次款", True),
        ("麻烦再付一次", True),
        ("请让顾客重新付款", True),
        ("再刷一次", True),
        ("先别让顾客重付", True),
        ("千万不要让顾客重复付款", False),
        ("请顾客重新输入密码", False),
        ("先别让顾客再掏钱", False),
    ],
)
def test_the_charge_again_pattern(phrase: str, charges_again: bool) -> None:
    assert bool(CHARGE_AGAIN.search(phrase)) is charges_again


def test_a_charge_with_no_match_asks_for_proof_and_looks_elsewhere() -> None:
    for response in answers("not_found", None, Claims(charged=True)):
        said = text(response)
        assert "短信" in said and "账单" in said and "商户名称" in said
        assert "其他 POS 机" in said and "收款码" in said and "收单机构" in said
        assert "转人工" in said and "/request_human" in buttons(response)
        assert "没扣" not in said and "没有被扣" not in said


def test_money_not_arrived_with_no_match_points_at_settlement() -> None:
    for claims in (Claims(not_arrived=True), Claims(charged=True, not_arrived=True)):
        for response in answers("not_found", None, claims):
            said = text(response)
            assert "结算账户" in said
            assert "T+1" in said and "周末" in said and "参考号" in said
            assert "/request_human" in buttons(response)
            assert "没扣" not in said


def test_the_plain_not_found_no_longer_says_the_customer_was_not_charged() -> None:
    said = text("utter_diagnosis_not_found")
    assert "没扣您的" not in said and "您的钱没扣" not in said and "没有被扣" not in said
    assert "扣款短信" in said  # charge again only once the customer's phone shows no charge


def test_a_void_and_a_refund_have_their_own_timing() -> None:
    voided = text("utter_diagnosis_reversed_voided")
    refunded = text("utter_diagnosis_reversed_refunded")
    assert "撤销" in voided and "当天或第二天" in voided
    assert "退货" in refunded and "1–7 个工作日" in refunded and "信用卡" in refunded
    assert "冲正" not in voided + refunded
