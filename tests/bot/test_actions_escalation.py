"""action_escalate and action_fallback: ticket, queue and wait, reasons, asking before giving up."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import service_client, vocabulary
from actions.escalation import SENT_REASONS, ActionEscalate, announcement, escalation_reason
from actions.fallback import ActionFallback
from actions.normalise.timewindow import shanghai

from .contract import check_response
from .fake_service import NOW, BrokenDropDeskService, FakeDropDeskService, make_tracker


@pytest.fixture()
def fake() -> Any:
    service = FakeDropDeskService()
    service_client.use_service(service)
    yield service
    service_client.use_service(None)


def escalate(**tracker_args: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    action = ActionEscalate()
    action.clock = staticmethod(lambda: NOW)  # type: ignore[method-assign]
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, make_tracker(**tracker_args), {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events}


@pytest.mark.parametrize(
    ("tracker_args", "reason"),
    [
        ({"intent": "request_human", "text": "转人工"}, "merchant_request"),
        ({"intent": "nlu_fallback", "text": "asdf"}, "fallback"),
        ({"intent": "deny", "text": "没解决"}, "not_solved"),
        (
            {
                "intent": "inform",
                "latest_action": "action_diagnose",
                "slots": {"needs_human": True},
            },
            "needs_human",
        ),
    ],
)
def test_escalation_reason_ticket_and_queue(
    fake: FakeDropDeskService, tracker_args: dict[str, Any], reason: str
) -> None:
    messages, slots = escalate(**tracker_args)
    assert fake.escalations == [("chat-1", reason)]
    assert messages == [
        {
            "text": None,
            "buttons": [],
            "elements": [],
            "custom": {},
            "template": "utter_escalated",
            "response": "utter_escalated",
            "image": None,
            "attachment": None,
            "ticket_no": "DD-20261125-0001",
            "queue_position": 1,
            "expected_wait_minutes": 5,
        }
    ]
    assert slots == {"ticket_no": "DD-20261125-0001", "fallback_count": 0.0}


def test_the_queue_place_and_wait_are_the_services(fake: FakeDropDeskService) -> None:
    fake.open_session("chat-2")
    fake.add_ticket(session="chat-2")
    fake.add_ticket(session="chat-3")
    [message], _ = escalate(intent="request_human")
    assert (message["queue_position"], message["expected_wait_minutes"]) == (3, 15)


@pytest.mark.parametrize(
    ("now", "said"),
    [
        (dt.datetime(2026, 11, 25, 22, 40, tzinfo=shanghai()), "明天 09:00 上班后"),
        (dt.datetime(2026, 11, 26, 6, 15, tzinfo=shanghai()), "今天 09:00 上班后"),
    ],
)
def test_outside_working_hours_says_when_a_person_follows_up(now: dt.datetime, said: str) -> None:
    service_client.use_service(FakeDropDeskService(clock=lambda: now, offline=True))
    try:
        action = ActionEscalate()
        action.clock = staticmethod(lambda: now)  # type: ignore[method-assign]
        dispatcher = CollectingDispatcher()
        asyncio.run(action.run(dispatcher, make_tracker(intent="request_human"), {}))
    finally:
        service_client.use_service(None)
    [message] = dispatcher.messages
    assert message["response"] == "utter_escalated_offline"
    assert message["next_opening"] == said
    assert message["ticket_no"].startswith("DD-")
    assert "queue_position" not in message


@pytest.mark.parametrize(
    ("ticket", "response", "variables"),
    [
        (
            {"offline": True, "next_opening": "2026-11-30T09:00:00+08:00"},
            "utter_escalated_offline",
            {"next_opening": "11月30日 09:00 上班后"},
        ),
        ({"offline": True, "next_opening": None}, "utter_escalated_offline",
         {"next_opening": "下次上班后"}),
        ({"offline": False, "queue_position": 0, "expected_wait_minutes": 0},
         "utter_escalated_in_hand", {}),
        ({"offline": False, "queue_position": 2, "expected_wait_minutes": 0},
         "utter_escalated", {"queue_position": 2, "expected_wait_minutes": 1}),
    ],
)  # fmt: skip
def test_announcement_fits_every_answer_the_contract_allows(
    ticket: dict[str, Any], response: str, variables: dict[str, Any]
) -> None:
    answer = {"ticket_no": "DD-20261125-0009", "status": "new", "priority": 1} | ticket
    answer.setdefault("queue_position", 4)
    answer.setdefault("expected_wait_minutes", 20)
    check_response("escalate", answer)
    assert announcement(answer, NOW) == (
        response,
        {"ticket_no": "DD-20261125-0009"} | variables,
    )


def test_escalation_failure_is_explained() -> None:
    service_client.use_service(BrokenDropDeskService())
    try:
        messages, slots = escalate(intent="request_human")
    finally:
        service_client.use_service(None)
    assert [m["response"] for m in messages] == ["utter_escalation_unavailable"]
    assert "ticket_no" not in slots


def test_an_unknown_session_gets_the_apology_not_a_ticket(fake: FakeDropDeskService) -> None:
    messages, slots = escalate(intent="request_human", sender_id="chat-404")
    assert [m["response"] for m in messages] == ["utter_escalation_unavailable"]
    assert fake.escalations == []
    assert "ticket_no" not in slots


def test_every_reason_the_action_can_send_is_the_services() -> None:
    """Any intent, after any action, with or without needs_human: a reason the service takes."""
    assert SENT_REASONS.issubset(vocabulary.escalation_reasons())
    intents = ["request_human", "nlu_fallback", "deny", "affirm", "inform", "ask_ticket_status"]
    sent = {
        escalation_reason(make_tracker(intent=intent, latest_action=action, slots=slots))
        for intent in intents
        for action in ("action_listen", "action_diagnose", "action_fallback")
        for slots in ({}, {"needs_human": True}, {"needs_human": False})
    }
    assert sent == set(SENT_REASONS)


def fallback(**tracker_args: Any) -> tuple[list[str], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionFallback().run(dispatcher, make_tracker(**tracker_args), {}))
    return [m["response"] for m in dispatcher.messages], {e["name"]: e["value"] for e in events}


def test_fallback_asks_with_topic_buttons_and_counts() -> None:
    responses, slots = fallback(intent="nlu_fallback", slots={"fallback_count": 1.0})
    assert responses == ["utter_fallback_clarify"]
    assert slots == {"fallback_count": 2.0}


def test_fallback_in_the_form_lets_the_form_ask_again() -> None:
    responses, slots = fallback(intent="nlu_fallback", active_loop="drop_form")
    assert responses == ["utter_fallback_in_form"]
    assert slots == {"fallback_count": 1.0}
