"""action_diagnose: one answer per diagnosis code, built from the service's reply."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import drop_details, service_client
from actions.diagnosis import ActionDiagnose, build_query
from actions.normalise.timewindow import shanghai

from .fake_service import BrokenDropDeskService, FakeDropDeskService, make_tracker

NOW = dt.datetime(2026, 11, 25, 16, 30, tzinfo=shanghai())
WINDOW = "2026-11-25T15:00:00+08:00/2026-11-25T16:00:00+08:00"


@pytest.fixture()
def fake() -> Any:
    service = FakeDropDeskService()
    service_client.use_service(service)
    yield service
    service_client.use_service(None)


def run(
    ref: str | None,
    sender_id: str = "chat-1",
    *,
    now: dt.datetime = NOW,
    text: str = "",
    intent: str = "inform",
    events: list[dict[str, Any]] | None = None,
    **slots: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run action_diagnose after the merchant's `text` (and earlier `events`) at `now`."""
    action = ActionDiagnose()
    action.clock = staticmethod(lambda: now)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    values = {"order_ref": ref, "txn_time": WINDOW, "amount": "320.50"} | slots
    tracker = make_tracker(
        slots=values, text=text, intent=intent, events=events, sender_id=sender_id
    )
    result = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in result}


def said(text: str, intent: str = "inform") -> dict[str, Any]:
    """A merchant message as the tracker's events carry it."""
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return {"event": "user", "text": text, "parse_data": parse}


def diagnosed(code: str) -> list[dict[str, Any]]:
    """The events of a completed form and the action_diagnose after it."""
    return [
        {"event": "active_loop", "name": None},
        {"event": "action", "name": "action_diagnose"},
        {"event": "slot", "name": "diagnosis_code", "value": code},
    ]


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m["response"] for m in messages]


@pytest.mark.parametrize(
    ("ref", "code", "response", "asks_solved", "needs_human"),
    [
        ("612300000001", "approved_not_printed", "utter_diagnosis_approved_not_printed", 1, 0),
        ("612300000002", "declined", "utter_diagnosis_declined", 1, 0),
        ("612300000003", "reversed", "utter_diagnosis_reversed", 1, 0),
        ("612300000004", "not_found", "utter_diagnosis_not_found", 1, 0),
        ("612300000005", "settlement_pending", "utter_diagnosis_settlement_pending", 1, 0),
        ("612300000006", "settled", "utter_diagnosis_settled", 1, 0),
        ("612300000007", "settlement_delayed", "utter_diagnosis_settlement_delayed", 0, 1),
        ("612300000008", "duplicate_charge", "utter_diagnosis_duplicate_charge_void", 1, 0),
        ("612300000009", "duplicate_charge", "utter_diagnosis_duplicate_charge_refund", 1, 0),
        ("612300000010", "duplicate_charge", "utter_diagnosis_duplicate_charge_escalate", 0, 1),
        ("612300000011", "reversal_failed", "utter_diagnosis_reversal_failed", 0, 1),
        ("612300000012", "reversed", "utter_diagnosis_reversed_voided", 1, 0),
        ("612300000013", "reversed", "utter_diagnosis_reversed_refunded", 1, 0),
    ],
)
def test_each_code_gets_its_answer(
    fake: FakeDropDeskService,
    ref: str,
    code: str,
    response: str,
    asks_solved: int,
    needs_human: int,
) -> None:
    messages, slots = run(ref)
    assert messages[0]["response"] == response
    assert messages[0]["heard"] == f"参考号 {ref}，今天 15:00–16:00，¥320.50"
    assert [m["response"] for m in messages[1:]] == ["utter_ask_solved"] * asks_solved
    assert slots["diagnosis_code"] == code
    assert slots["needs_human"] is bool(needs_human)
    assert slots["fallback_count"] == 0.0


def test_variables_fill_the_answers(fake: FakeDropDeskService) -> None:
    assert run("612300000002")[0][0]["response_meaning"] == "余额不足"
    assert run("612300000003")[0][0]["money_back_by"] == "明天"
    assert run("612300000005")[0][0]["expected_date"] == "明天"
    settled = run("612300000006")[0][0]
    assert (settled["settlement_date"], settled["batch_no"]) == ("昨天", "000117")
    assert settled["settlement_account"] == "6217****0021"
    duplicate = run("612300000008")[0][0]
    assert (duplicate["count"], duplicate["extra_trace"]) == (2, "000109")


def test_ambiguous_asks_for_the_separating_detail(fake: FakeDropDeskService) -> None:
    messages, slots = run("unknown")
    # One declined, one approved: the merchant hears first that only one charged the customer.
    assert responses(messages) == [
        "utter_candidates_differ_in_outcome",
        "utter_ask_separating_card_last4",
    ]
    assert messages[1]["count"] == 2
    assert messages[1]["heard"].startswith("没有单号")
    assert slots["diagnosis_code"] == "ambiguous"
    assert slots["pending_question"] == "card_last4"
    assert slots["asked_separators"] == ["card_last4"]
    assert slots["needs_human"] is None  # still asking: neither solved nor escalated


def test_a_question_is_never_asked_twice_then_a_person_takes_both(
    fake: FakeDropDeskService,
) -> None:
    asked: list[str] = []
    for question in ("terminal", "screen", "reference"):
        asked = [*asked, *([] if asked else ["card_last4"])]
        messages, slots = run("unknown", asked_separators=asked)
        assert responses(messages)[-1] == f"utter_ask_separating_{question}"
        assert slots["pending_question"] == question
        asked = slots["asked_separators"]
    assert messages[-1]["terminals"] == "10020001、10020002"
    messages, slots = run("unknown", asked_separators=asked)
    assert responses(messages)[-1] == "utter_ambiguous_escalate"
    assert slots["needs_human"] is True
    assert slots["pending_question"] is None and slots["asked_separators"] is None


def test_terminal_and_screen_answers_reach_the_query(fake: FakeDropDeskService) -> None:
    run("unknown", terminal_no="0002", screen_shown="failure")
    assert fake.diagnoses[-1][1]["terminal_no"] == "0002"
    assert fake.diagnoses[-1][1]["screen"] == "failure"


def test_unknown_reference_is_sent_as_null(fake: FakeDropDeskService) -> None:
    run("unknown", card_last4="6688")
    session, query = fake.diagnoses[-1]
    assert session == "chat-1"
    assert query == {
        "order_ref": None,
        "time_from": "2026-11-25T15:00:00+08:00",
        "time_to": "2026-11-25T16:00:00+08:00",
        "amount": "320.50",
        "card_last4": "6688",
        "terminal_no": None,
        "screen": None,
    }


def test_build_query_without_time() -> None:
    query = build_query({"order_ref": "612300000001"})
    assert query["time_from"] is None and query["time_to"] is None


def test_service_down_apologises_without_crashing() -> None:
    service_client.use_service(BrokenDropDeskService())
    try:
        messages, slots = run("612300000001")
    finally:
        service_client.use_service(None)
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert slots["needs_human"] is False


def test_an_unknown_session_apologises_like_the_service_being_down(
    fake: FakeDropDeskService,
) -> None:
    messages, slots = run("612300000001", sender_id="chat-404")
    assert [m["response"] for m in messages] == ["utter_service_unavailable"]
    assert fake.diagnoses == []
    assert slots["needs_human"] is False


def test_http_client_reports_connection_errors_as_service_error() -> None:
    client = service_client.HttpDropDeskService("http://127.0.0.1:9", "t", timeout=1)
    with pytest.raises(service_client.ServiceError):
        asyncio.run(client.diagnose("chat-1", {"order_ref": None}))


@pytest.mark.parametrize(
    ("window", "said"),
    [
        ("2026-11-24T00:00:00+08:00/2026-11-25T00:00:00+08:00", "昨天"),
        ("2026-11-20T14:05:00+08:00/2026-11-20T14:06:00+08:00", "11月20日 14:05"),
        ("2026-11-23T18:00:00+08:00/2026-11-24T00:00:00+08:00", "前天 18:00–00:00"),
    ],
)
def test_time_windows_are_read_back_the_way_merchants_say_them(window: str, said: str) -> None:
    assert drop_details.describe_time(window, NOW) == said


# --- advice that matches what the merchant said ---------------------------------------------

NOT_FOUND = "612300000004"
# The drop so far: reported with a claim, then the form asked for the reference.
CLAIM_EARLIER = [
    said("刚才刷卡显示超时，顾客说扣钱了", "report_drop"),
    {"event": "active_loop", "name": "drop_form"},
]


@pytest.mark.parametrize(
    ("events", "text"),
    [
        ([], "参考号612399999999，顾客说扣了"),
        ([], "银行发短信扣了，100块"),
        ([], "顾客付了的，账单上有"),
        (CLAIM_EARLIER, "612399999999"),
        # an ambiguous answer asks for more about the same drop: the claim still holds
        ([*CLAIM_EARLIER, *diagnosed("ambiguous")], "尾号1234"),
    ],
)
def test_not_found_after_a_charge_was_said_asks_for_proof_instead_of_charging_again(
    fake: FakeDropDeskService, events: list[dict[str, Any]], text: str
) -> None:
    messages, slots = run(NOT_FOUND, text=text, events=events)
    # The answer offers a person itself (a button), so no "解决了吗" under it.
    assert responses(messages) == ["utter_diagnosis_not_found_charged"]
    assert slots["diagnosis_code"] == "not_found"
    assert slots["needs_human"] is False


@pytest.mark.parametrize(
    "text", ["顾客说没扣", "不知道扣没扣", "钱扣了没有", "没有扣，机器显示失败", "如果扣了怎么办"]
)
def test_not_found_without_a_charge_said_keeps_the_plain_answer(
    fake: FakeDropDeskService, text: str
) -> None:
    messages, _ = run(NOT_FOUND, text=text, intent="report_drop")
    assert responses(messages) == ["utter_diagnosis_not_found", "utter_ask_solved"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [("刚才又掉了一单，100块", "report_drop"), ("还有一笔100块的", "inform")],
)
def test_a_charge_said_about_the_previous_drop_does_not_carry_over(
    fake: FakeDropDeskService, text: str, intent: str
) -> None:
    earlier = [*CLAIM_EARLIER, *diagnosed("approved_not_printed")]
    messages, _ = run(NOT_FOUND, text=text, intent=intent, events=earlier)
    assert responses(messages) == ["utter_diagnosis_not_found", "utter_ask_solved"]


@pytest.mark.parametrize(
    ("events", "text", "response"),
    [
        ([said("刷卡的钱多久到账", "ask_settlement_time")], "612399999999", "not_arrived"),
        ([], "上周三那笔800的钱一直没到账", "not_arrived"),
        ([], "钱还没到，参考号612399999999", "not_arrived"),
        (CLAIM_EARLIER, "我这边也没收到钱", "charged_not_arrived"),
    ],
)
def test_money_not_arrived_and_not_found_points_at_the_settlement_account(
    fake: FakeDropDeskService, events: list[dict[str, Any]], text: str, response: str
) -> None:
    messages, slots = run(NOT_FOUND, text=text, events=events)
    assert responses(messages) == [f"utter_diagnosis_not_found_{response}"]
    assert slots["needs_human"] is False


# --- dates seen from today --------------------------------------------------------------


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=shanghai())


def test_a_settlement_date_still_ahead_is_said_from_today(fake: FakeDropDeskService) -> None:
    messages, slots = run("612300000005", now=at(26, 8))
    assert messages[0]["response"] == "utter_diagnosis_settlement_pending"
    assert messages[0]["expected_date"] == "今天"
    assert slots["needs_human"] is False


@pytest.mark.parametrize("now", [at(27), at(30)])
def test_a_settlement_date_already_past_becomes_a_delay_for_a_person(
    fake: FakeDropDeskService, now: dt.datetime
) -> None:
    # The service promised 11月26日; on a later day that is no deadline to wait for.
    messages, slots = run("612300000005", now=now)
    assert responses(messages) == ["utter_diagnosis_settlement_delayed"]
    assert "expected_date" not in messages[0]
    assert slots["diagnosis_code"] == "settlement_delayed"
    assert slots["needs_human"] is True


@pytest.mark.parametrize(
    ("now", "response", "money_back_by"),
    [
        (at(25), "utter_diagnosis_reversed", "明天"),
        (at(26), "utter_diagnosis_reversed", "今天"),
        (at(28), "utter_diagnosis_reversed_already_back", "前天"),
        (dt.datetime(2026, 12, 5, 10, tzinfo=shanghai()), "utter_diagnosis_reversed_already_back",
         "11月26日"),
    ],
)  # fmt: skip
def test_a_reversal_is_promised_only_until_its_date(
    fake: FakeDropDeskService, now: dt.datetime, response: str, money_back_by: str
) -> None:
    messages, _ = run("612300000003", now=now)
    assert messages[0]["response"] == response
    assert messages[0]["money_back_by"] == money_back_by


def test_push_back_on_the_same_drop_gets_the_answer_again_and_a_person(
    fake: FakeDropDeskService,
) -> None:
    earlier = [*CLAIM_EARLIER, *diagnosed("approved_not_printed"), said("顾客不信", "report_drop")]
    messages, slots = run(
        "612300000001", events=earlier, text="顾客不信", diagnosis_code="approved_not_printed"
    )
    assert responses(messages) == [
        "utter_followup_same_result",
        "utter_diagnosis_approved_not_printed",
        "utter_followup_offer_human",
    ]
    assert slots["diagnosis_code"] == "approved_not_printed"


def test_a_changed_detail_is_a_new_answer_not_a_push_back(fake: FakeDropDeskService) -> None:
    changed = [
        *CLAIM_EARLIER,
        *diagnosed("declined"),
        said("不对 是612300000001", "correct_info"),
        {"event": "slot", "name": "order_ref", "value": "612300000001"},
    ]
    messages, _ = run("612300000001", events=changed, diagnosis_code="declined")
    assert responses(messages) == ["utter_diagnosis_approved_not_printed", "utter_ask_solved"]
