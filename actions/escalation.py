"""Hand the conversation over to a person and tell the merchant what happens next."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import drop_details
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)

# Why we escalate, in the service's words (vocabulary.json's escalation_reasons).
REASON_BY_INTENT = {
    "request_human": "merchant_request",
    "nlu_fallback": "fallback",
    "deny": "not_solved",
}
DIAGNOSIS_REASON = "needs_human"
DEFAULT_REASON = "merchant_request"
SENT_REASONS = frozenset({*REASON_BY_INTENT.values(), DIAGNOSIS_REASON, DEFAULT_REASON})


def escalation_reason(tracker: Tracker) -> str:
    """Say why we escalate, in the service's vocabulary."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in ("request_human", "nlu_fallback"):
        return REASON_BY_INTENT[intent]
    if tracker.latest_action_name == "action_diagnose" and tracker.get_slot("needs_human"):
        return DIAGNOSIS_REASON
    return REASON_BY_INTENT.get(str(intent), DEFAULT_REASON)


def announcement(ticket: dict[str, Any], now: dt.datetime) -> tuple[str, dict[str, Any]]:
    """Choose the response for a new ticket and the variables it needs."""
    ticket_no = str(ticket["ticket_no"])
    if ticket.get("offline"):
        opening = drop_details.describe_moment(ticket.get("next_opening"), now)
        return "utter_escalated_offline", {
            "ticket_no": ticket_no,
            "next_opening": f"{opening} 上班后" if opening else "下次上班后",
        }
    position = int(ticket.get("queue_position") or 0)
    if position < 1:
        # Not waiting in the queue: a person already holds the conversation.
        return "utter_escalated_in_hand", {"ticket_no": ticket_no}
    return "utter_escalated", {
        "ticket_no": ticket_no,
        "queue_position": position,
        "expected_wait_minutes": max(1, int(ticket.get("expected_wait_minutes") or 0)),
    }


class ActionEscalate(Action):
    """Open a ticket for a person; give the merchant its number and the wait."""

    clock: Callable[[], dt.datetime] = staticmethod(drop_details.now_shanghai)

    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            ticket = await get_service().escalate(tracker.sender_id, escalation_reason(tracker))
        except ServiceError as exc:
            logger.warning("escalation failed: %s", exc)
            dispatcher.utter_message(response="utter_escalation_unavailable")
            return [SlotSet("fallback_count", 0.0)]
        response, variables = announcement(ticket, self.clock())
        dispatcher.utter_message(response=response, **variables)
        return [SlotSet("ticket_no", variables["ticket_no"]), SlotSet("fallback_count", 0.0)]
