"""Hand the conversation over to a person and tell the merchant what happens next."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)


def escalation_reason(tracker: Tracker) -> str:
    """Say why we escalate, in the service's vocabulary."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "request_human":
        return "merchant_request"
    if intent == "nlu_fallback":
        return "fallback"
    if tracker.latest_action_name == "action_diagnose" and tracker.get_slot("needs_human"):
        return "needs_human"
    if intent == "deny":
        return "not_solved"
    return "merchant_request"


class ActionEscalate(Action):
    """Open a ticket for a person and give the merchant its number."""

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
        ticket_no = str(ticket["ticket_no"])
        dispatcher.utter_message(response="utter_escalated", ticket_no=ticket_no)
        return [SlotSet("ticket_no", ticket_no), SlotSet("fallback_count", 0.0)]
