"""What the merchant said about the current drop: a charge, or money that has not arrived."""

from __future__ import annotations

from typing import Any

import pytest

from actions.merchant_claims import Claims, claims, current_drop, says_charged, says_not_arrived


@pytest.mark.parametrize(
    "text",
    [
        "顾客说扣钱了",
        "扣了",
        "顾客说被扣了",
        "扣款成功了",
        "银行发短信扣了",
        "顾客付了",
        "账单上有这笔",
        "刷卡显示失败，顾客说钱扣了",
        "顾客说扣了256元但我这边显示失败",
        "机器显示超时顾客说扣了钱",  # voice input, no punctuation
        "顾客说扣了，怎么办？",
        "顾客扣了没到账",
        "顾客手机收到银行短信了",
        "他说已经付过了",
        "卡里少了320",
        "钱被划走了",
        "顧客說扣錢了",  # traditional characters
        "帳單上有",
    ],
)
def test_a_charge_the_merchant_reports_counts(text: str) -> None:
    assert says_charged(text)


@pytest.mark.parametrize(
    "text",
    [
        "没扣",
        "没有扣",
        "顾客说没有被扣",
        "沒扣",
        "未扣款",
        "不知道扣没扣",
        "四个小时前刷了66元，不知道顾客付没付",
        "参考号612399999999的钱扣了没有",  # a question, not a claim
        "扣了吗",
        "钱扣了？",
        "是不是扣了",
        "有没有被扣",
        "如果扣了怎么办",
        "没收到短信",
        "账单上没有",
        "付款失败",
        "刷了320块5，机器显示超时",
        "打折扣了",
    ],
)
def test_a_negated_uncertain_or_asked_charge_does_not_count(text: str) -> None:
    assert not says_charged(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("钱没到账", True),
        ("十天前2300元一直没到帐", True),
        ("我这边没收到钱", True),
        ("钱还没到", True),
        ("上周那笔560元到账了吗", True),
        ("刷卡没成功", False),
        ("顾客说扣了", False),
    ],
)
def test_money_not_arrived(text: str, expected: bool) -> None:
    assert says_not_arrived(text) is expected


def said(text: str, intent: str = "inform") -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def loop(name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "name": name}


def diagnosed(code: str) -> list[dict[str, Any]]:
    return [loop(None), {"event": "slot", "name": "diagnosis_code", "value": code}]


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [event["text"] for event in current_drop(events)]


def test_the_drop_starts_with_the_conversation() -> None:
    events = [
        said("你好", "greet"),
        said("顾客说扣了"),
        said("刷卡失败", "report_drop"),
        loop("drop_form"),
    ]
    assert texts(events) == ["你好", "顾客说扣了", "刷卡失败"]


def test_a_new_report_after_a_diagnosis_starts_a_new_drop() -> None:
    first = [said("顾客说扣了", "report_drop"), loop("drop_form"), *diagnosed("not_found")]
    assert texts([*first, said("又掉了一单", "report_drop")]) == ["又掉了一单"]
    assert texts([*first, said("还有一笔")]) == ["还有一笔"]
    assert claims([*first, said("又掉了一单", "report_drop")]) == Claims()


def test_what_follows_a_diagnosis_in_the_same_drop_stays_in_it() -> None:
    first = [said("顾客说扣了", "report_drop"), loop("drop_form")]
    # An ambiguous diagnosis asks for more; a report in the middle of the form restarts nothing.
    assert texts([*first, *diagnosed("ambiguous"), said("尾号0128")]) == ["顾客说扣了", "尾号0128"]
    assert texts([*first, said("掉单了", "report_drop")]) == ["顾客说扣了", "掉单了"]
    # A correction after a diagnosis is about the same drop.
    after = [*first, *diagnosed("declined"), said("说错了，是256", "correct_info")]
    assert claims(after).charged


def test_a_new_session_forgets_the_old_drop() -> None:
    events = [said("顾客说扣了", "report_drop"), {"event": "session_started"}, said("掉单了")]
    assert texts(events) == ["掉单了"]


def test_a_settlement_question_in_the_drop_means_money_not_arrived() -> None:
    events = [said("钱什么时候打过来", "ask_settlement_time"), said("612399999999")]
    assert claims(events) == Claims(charged=False, not_arrived=True)
