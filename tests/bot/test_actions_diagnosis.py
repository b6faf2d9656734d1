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
    ref: str | None, sender_id: str = "chat-1", **slots: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    action = ActionDiagnose()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    values = {"order_ref": ref, "txn_time": WINDOW, "amount": "320.50"} | slots
    tracker = make_tracker(slots=values, intent="inform", sender_id=sender_id)
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events}


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
    assert run("612300000003")[0][0]["money_back_by"] == "11月26日"
    assert run("612300000005")[0][0]["expected_date"] == "11月26日"
    settled = run("612300000006")[0][0]
    assert (settled["settlement_date"], settled["batch_no"]) == ("11月24日", "000117")
    assert settled["settlement_account"] == "6217****0021"
    duplicate = run("612300000008")[0][0]
    assert (duplicate["count"], duplicate["extra_trace"]) == (2, "000109")


def test_ambiguous_asks_for_the_separating_detail(fake: FakeDropDeskService) -> None:
    messages, slots = run("unknown")
    assert [m["response"] for m in messages] == ["utter_ask_separating_card_last4"]
    assert messages[0]["count"] == 2
    assert messages[0]["heard"].startswith("没有单号")
    assert slots["diagnosis_code"] == "ambiguous"
    assert slots["pending_question"] == "card_last4"
    assert slots["needs_human"] is False


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
