"""Validate and normalise what the merchant tells the drop form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import drop_details
from actions.normalise import parse_amount, parse_reference, parse_time, says_no_reference

FORM = "drop_form"
# Messages about something else than the drop being reported: nothing in them fills the form
# (昨天转人工那个工单 is no transaction time; DD-20261203-0007 is no reference).
NOT_ABOUT_THE_DROP = frozenset({"ask_ticket_status"})
_MONEY_WORDS = ("金额", "元", "块", "¥", "￥", "钱", "万")
Slots = dict[str, Any]


def latest_text(tracker: Tracker) -> str:
    """Return the text of the merchant's latest message."""
    return str(tracker.latest_message.get("text") or "")


def latest_intent(tracker: Tracker) -> str | None:
    """Return the name of the latest message's intent."""
    name = (tracker.latest_message.get("intent") or {}).get("name")
    return str(name) if name else None


def takes_back_amount(text: str, current: Any) -> bool:
    """Tell whether the message takes back the amount we hold: 我刚才说成88了 (we hold 88.00)."""
    taken_back = (parse_amount(value, bare=True) for value in drop_details.retracted(text))
    return any(value is not None and f"{value:.2f}" == current for value in taken_back)


def entity_given(tracker: Tracker, entity: str) -> bool:
    """Tell whether the NLU found this entity in the latest message."""
    return any(e.get("entity") == entity for e in tracker.latest_message.get("entities", []))


def value_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """Return a slot's value (or, for "active_loop", the loop) before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            seen_user = True
        elif not seen_user:
            continue
        elif slot == "active_loop" and kind == "active_loop":
            return event.get("name")
        elif kind == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


class ValidateDropForm(FormValidationAction):
    """Normalise order_ref, txn_time, amount (and card_last4 when given)."""

    clock: Callable[[], dt.datetime] = staticmethod(drop_details.now_shanghai)

    def name(self) -> str:
        return "validate_drop_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # card_last4 is validated when given but never asked for by the form.
        return [*domain_slots, "card_last4"]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A time and an amount are enough to look: the reference is not demanded first.

        Merchants rarely say "没有单号"; they give the time and the amount and wait. When both
        are known and no reference was given, the form completes with the reference unknown,
        and the diagnosis asks for what separates candidates if several fit.
        """
        events = await super().run(dispatcher, tracker, domain)
        slots = {name: tracker.get_slot(name) for name in ("order_ref", "txn_time", "amount")}
        for event in events:
            if event.get("event") == "slot" and event.get("name") in slots:
                slots[event["name"]] = event.get("value")
        if slots["order_ref"] is None and slots["txn_time"] and slots["amount"]:
            events.append(SlotSet("order_ref", drop_details.UNKNOWN_REF))
        return events

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        # The domain's order of required slots decides what to ask next.
        return None

    # --- helpers ---------------------------------------------------------------

    @staticmethod
    def _activating(tracker: Tracker) -> bool:
        """Tell whether this message (re)started the form rather than answered it."""
        # Rasa marks the form active before calling us, so look at the state before the message.
        return bool(value_before_latest_message(tracker, "active_loop") != FORM)

    def _said_now(self, tracker: Tracker, slot: str) -> bool:
        """Tell whether the latest message carries a value for this slot."""
        if entity_given(tracker, slot):
            return True
        text = latest_text(tracker)
        if slot == "order_ref":
            return (
                latest_intent(tracker) == "dont_know_ref"
                or parse_reference(text) is not None
                or says_no_reference(text)
            )
        if slot == "txn_time":
            return parse_time(text, self.clock()) is not None
        if slot == "amount":
            return parse_amount(text) is not None
        return drop_details.card_last4(None, text) is not None

    def _stale(self, tracker: Tracker, slot: str) -> bool:
        """A new drop report starts from scratch: forget details from earlier drops."""
        return (
            self._activating(tracker)
            and latest_intent(tracker) == "report_drop"
            and not self._said_now(tracker, slot)
        )

    @staticmethod
    def _answering_card(tracker: Tracker) -> str | None:
        """Return the digits when the merchant answers our card question with a bare number."""
        if tracker.get_slot("pending_question") != "card_last4":
            return None
        return drop_details.card_last4(None, latest_text(tracker), bare_allowed=True)

    def _keep_if_card_answer(self, tracker: Tracker, slot: str, value: Any) -> Slots | None:
        """Undo a slot the NLU filled with the card digits we just asked for."""
        digits = self._answering_card(tracker)
        if digits and digits in drop_details.candidates(value):
            return {slot: value_before_latest_message(tracker, slot), "card_last4": digits}
        return None

    # --- extraction from the raw text (values the NLU missed) -------------------

    def _scan(self, tracker: Tracker, slot: str) -> Slots:
        if entity_given(tracker, slot) or latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return {}
        if self._stale(tracker, slot) and tracker.get_slot(slot) is not None:
            return {slot: None}
        current = tracker.get_slot(slot)
        correcting = latest_intent(tracker) == "correct_info"
        if current is not None and not correcting:
            return {}
        if self._answering_card(tracker):
            return {}
        text = latest_text(tracker)
        if slot == "order_ref":
            asked = tracker.get_slot("requested_slot") == "order_ref"
            if asked and latest_intent(tracker) == "deny":
                return {slot: drop_details.UNKNOWN_REF}
            found = parse_reference(text)
            if found:
                return {slot: found.value}
            return {slot: drop_details.UNKNOWN_REF} if says_no_reference(text) else {}
        if slot == "txn_time":
            value = drop_details.txn_time(None, text, self.clock())
        elif current is not None and takes_back_amount(text, current):
            value = drop_details.amount(None, text, bare=True)
        elif current is not None and not any(word in text for word in _MONEY_WORDS):
            # A correction only replaces the amount when it talks about money.
            value = None
        else:
            value = drop_details.amount(None, text)
        return {slot: value} if value and value != current else {}

    async def extract_order_ref(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._scan(tracker, "order_ref")

    async def extract_txn_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._scan(tracker, "txn_time")

    async def extract_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._scan(tracker, "amount")

    async def extract_card_last4(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if entity_given(tracker, "card_last4") or latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return {}
        if self._stale(tracker, "card_last4") and tracker.get_slot("card_last4") is not None:
            return {"card_last4": None}
        digits = self._answering_card(tracker) or drop_details.card_last4(
            None, latest_text(tracker)
        )
        return {"card_last4": digits} if digits else {}

    # --- validation ----------------------------------------------------------------

    @staticmethod
    def _kept(tracker: Tracker, slot: str) -> Slots | None:
        """Undo what the NLU mapped from a message that is not about the drop."""
        if latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return {slot: value_before_latest_message(tracker, slot)}
        return None

    def _result(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        value: str | None,
        given: Any,
    ) -> Slots:
        if value is None:
            if drop_details.asserted(given, latest_text(tracker)):
                dispatcher.utter_message(response=f"utter_invalid_{slot}")
            return {slot: None}
        return {slot: value, "fallback_count": 0.0}

    async def validate_order_ref(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        kept = self._kept(tracker, "order_ref")
        if kept is not None:
            return kept
        if self._stale(tracker, "order_ref"):
            return {"order_ref": None}
        kept = self._keep_if_card_answer(tracker, "order_ref", value)
        if kept is not None:
            return kept
        normalised = drop_details.order_ref(value, latest_text(tracker))
        return self._result(dispatcher, tracker, "order_ref", normalised, value)

    async def validate_txn_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        kept = self._kept(tracker, "txn_time")
        if kept is not None:
            return kept
        if self._stale(tracker, "txn_time"):
            return {"txn_time": None}
        kept = self._keep_if_card_answer(tracker, "txn_time", value)
        if kept is not None:
            return kept
        if drop_details.only_when_said(value, latest_text(tracker)):
            return {"txn_time": value_before_latest_message(tracker, "txn_time")}
        normalised = drop_details.txn_time(value, latest_text(tracker), self.clock())
        return self._result(dispatcher, tracker, "txn_time", normalised, value)

    async def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        kept = self._kept(tracker, "amount")
        if kept is not None:
            return kept
        if self._stale(tracker, "amount"):
            return {"amount": None}
        kept = self._keep_if_card_answer(tracker, "amount", value)
        if kept is not None:
            return kept
        normalised = drop_details.amount(value, latest_text(tracker))
        return self._result(dispatcher, tracker, "amount", normalised, value)

    async def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        kept = self._kept(tracker, "card_last4")
        if kept is not None:
            return kept
        if value is None or self._stale(tracker, "card_last4"):
            return {"card_last4": None}
        digits = drop_details.card_last4(
            value, latest_text(tracker), bare_allowed=self._answering_card(tracker) is not None
        )
        return self._result(dispatcher, tracker, "card_last4", digits, value)
