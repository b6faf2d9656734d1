"""Ask before giving up when the bot did not understand the merchant."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


class ActionFallback(Action):
    """Count the miss and ask a clarifying question (the second miss in a row escalates)."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        count = float(tracker.get_slot("fallback_count") or 0) + 1
        if (tracker.active_loop or {}).get("name"):
            # The form re-asks its question right after this.
            dispatcher.utter_message(response="utter_fallback_in_form")
        else:
            dispatcher.utter_message(response="utter_fallback_clarify")
        return [SlotSet("fallback_count", count)]
