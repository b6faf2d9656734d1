"""An amount read unsure is confirmed with the merchant, and taken only on a yes (issue 18)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.form_validation import ValidateDropForm

from .fake_service import entity, make_tracker
from .test_actions_form_validation import DOMAIN, NOW, WINDOW_3PM

WAITING = "confirm_amount:1500.00"


def run_form(
    text: str, *, active: bool = True, domain: dict[str, Any] | None = None, **tracker_args: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    action = ValidateDropForm()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text=text, active_loop="drop_form" if active else None, **tracker_args)
    events = asyncio.run(action.run(dispatcher, tracker, domain or DOMAIN))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, dispatcher.messages


def test_an_unsure_amount_is_asked_about_not_filled() -> None:
    slots, messages = run_form("昨天下午三点刷了壹仟伍元，顾客说扣钱了", active=False)
    assert slots.get("amount") is None
    assert slots["pending_question"] == WAITING
    assert slots["requested_slot"] == "pending_question"  # the form waits, asks nothing else
    assert [(m["response"], m["amount"]) for m in messages] == [
        ("utter_confirm_amount", "1,500.00")
    ]
    (response,) = DOMAIN["responses"]["utter_confirm_amount"]
    assert response["text"].format(amount="1,500.00") == (
        "您说的金额是 ¥1,500.00 吗？对的话回复“是”，不对请直接告诉我正确的金额。"
    )


def test_without_the_domain_response_the_question_is_the_same_text() -> None:
    responses = {k: v for k, v in DOMAIN["responses"].items() if k != "utter_confirm_amount"}
    _, messages = run_form("刷了壹仟伍元", active=False, domain={**DOMAIN, "responses": responses})
    assert [m["text"] for m in messages if m.get("text")] == [
        "您说的金额是 ¥1,500.00 吗？对的话回复“是”，不对请直接告诉我正确的金额。"
    ]


def test_a_reference_does_not_complete_the_form_while_the_amount_waits() -> None:
    slots, _ = run_form("参考号612300000001 金额壹仟零伍佰元", active=False)
    assert slots["order_ref"] == "612300000001"
    assert slots["pending_question"] == WAITING
    assert slots["requested_slot"] == "pending_question"


def test_the_domain_response_is_used_once_the_domain_has_it() -> None:
    domain = {**DOMAIN, "responses": {**DOMAIN["responses"], "utter_confirm_amount": [{}]}}
    _, messages = run_form("刷了壹仟伍元", active=False, domain=domain)
    assert [(m["response"], m.get("amount")) for m in messages if m.get("response")] == [
        ("utter_confirm_amount", "1,500.00")
    ]


def test_a_yes_takes_the_amount() -> None:
    waiting = {"pending_question": WAITING, "txn_time": WINDOW_3PM}
    slots, messages = run_form("是的", intent="affirm", slots=waiting)
    assert slots["amount"] == "1500.00"
    assert slots["pending_question"] is None
    assert slots["order_ref"] == "unknown"  # a time and an amount: enough to look
    assert not messages


def test_a_yes_the_nlu_missed_still_counts() -> None:
    slots, _ = run_form("对", intent="nlu_fallback", slots={"pending_question": WAITING})
    assert slots["amount"] == "1500.00"


def test_a_no_asks_for_the_amount() -> None:
    slots, _ = run_form("不是", intent="deny", slots={"pending_question": WAITING})
    assert slots.get("amount") is None
    assert slots["pending_question"] is None
    assert slots["requested_slot"] == "amount"


def test_a_new_amount_replaces_the_one_waiting() -> None:
    slots, messages = run_form(
        "不对，是1050元",
        intent="correct_info",
        entities=[entity("amount", "1050元")],
        slots={"pending_question": WAITING},
        candidates={"amount": "1050元"},
    )
    assert slots["amount"] == "1050.00"
    assert slots["pending_question"] is None
    assert not [m for m in messages if m.get("text")]


def test_a_sure_amount_is_never_asked_about() -> None:
    slots, messages = run_form("昨天下午三点刷了壹仟零伍元", active=False)
    assert slots["amount"] == "1005.00"
    assert "pending_question" not in slots or slots["pending_question"] is None
    assert not [m for m in messages if m.get("text")]


def test_a_bare_four_digit_number_beside_details_is_the_amount() -> None:
    slots, messages = run_form("昨天下午三点 6688", active=False)
    assert slots["amount"] == "6688.00"
    assert not [m for m in messages if m.get("text")]


def test_figures_grouped_against_the_rules_are_confirmed() -> None:
    slots, messages = run_form("昨天下午三点刷了1,2800元", active=False)
    assert slots.get("amount") is None
    assert slots["pending_question"] == "confirm_amount:12800.00"
    assert messages[0]["amount"] == "12,800.00"


def test_other_details_given_meanwhile_are_kept_and_the_amount_still_waits() -> None:
    slots, _ = run_form("参考号612300000001", intent="inform", slots={"pending_question": WAITING})
    assert slots["order_ref"] == "612300000001"
    assert slots["pending_question"] == WAITING
    assert slots["requested_slot"] == "pending_question"
