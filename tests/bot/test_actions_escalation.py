"""action_escalate and action_fallback: ticket numbers, reasons, asking before giving up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import service_client
from actions.escalation import ActionEscalate
from actions.fallback import ActionFallback

from .fake_service import BrokenDropDeskService, FakeDropDeskService, make_tracker


@pytest.fixture()
def fake() -> Any:
    service = FakeDropDeskService()
    service_client.use_service(service)
    yield service
    service_client.use_service(None)


def escalate(**tracker_args: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionEscalate().run(dispatcher, make_tracker(**tracker_args), {}))
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
def test_escalation_reason_and_ticket(
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
            "ticket_no": "T000001",
        }
    ]
    assert slots["ticket_no"] == "T000001"


def test_escalation_failure_is_explained() -> None:
    service_client.use_service(BrokenDropDeskService())
    try:
        messages, slots = escalate(intent="request_human")
    finally:
        service_client.use_service(None)
    assert [m["response"] for m in messages] == ["utter_escalation_unavailable"]
    assert "ticket_no" not in slots


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
