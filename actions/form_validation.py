"""Validate and normalise what the merchant tells the drop form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import amount_confirmation, drop_details, merchant_claims, photo_confirmation
from actions.normalise import (
    find_references,
    parse_amount,
    parse_reference,
    parse_time,
    says_no_reference,
    spelling,
)

FORM = "drop_form"
# Messages about something else than the drop being reported: nothing in them fills the form
# (昨天转人工那个工单 is no transaction time; DD-20261203-0007 is no reference).
NOT_ABOUT_THE_DROP = frozenset({"ask_ticket_status"})
DETAILS = ("order_ref", "txn_time", "amount")
SEPARATOR_SLOTS = ("card_last4", "terminal_no", "screen_shown", "other_refs")
# The separating question the diagnosis asked, by the slot that answers it.
_QUESTION = {"card_last4": "card_last4", "terminal_no": "terminal", "screen_shown": "screen"}
# Coming back to a reference given beside the one checked first: 另外那笔呢, 第二笔呢.
_THE_OTHER = re.compile(
    r"另外那|另外一个|另一个|另一笔|那一笔呢|第二笔|第二个|剩下的?那|还有一个单号"
)
_MONEY_WORDS = ("金额", "元", "块", "¥", "￥", "钱", "万")
# Questions and small talk with a rule of their own during the form: asked while a photo waits
# for its yes, they are answered and the photo keeps waiting.
DETOURS = frozenset({
    "ask_network", "ask_hardware", "ask_software_upgrade", "ask_reprint", "ask_settlement_time",
    "ask_refund_time", "ask_response_code", "ask_training", "ask_prevention",
    "ask_licensed_acquirer", "ask_ticket_status", "greet", "thank", "bot_challenge", "chitchat",
    "out_of_scope", "request_human",
})  # fmt: skip
Slots = dict[str, Any]


def latest_text(tracker: Tracker) -> str:
    """Return the merchant's latest message, in simplified characters with typing slips mended."""
    return spelling.fold(str(tracker.latest_message.get("text") or ""))


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


def _waits(events: list[EventType]) -> bool:
    """Tell whether these events leave the form waiting on pending_question."""
    requested = [e.get("value") for e in events if e.get("name") == "requested_slot"]
    return bool(requested) and requested[-1] == amount_confirmation.WAITING


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
        # These are validated when given but never asked for by the form: the diagnosis asks
        # for them when they tell candidates apart.
        return [*domain_slots, *SEPARATOR_SLOTS]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A time and an amount are enough to look: the reference is not demanded first.

        Merchants rarely say "没有单号"; they give the time and the amount and wait. When both
        are known and no reference was given, the form completes with the reference unknown,
        and the diagnosis asks for what separates candidates if several fit.
        """
        events = await super().run(dispatcher, tracker, domain)
        new_drop = self._new_drop(tracker)
        if new_drop:
            events.append(SlotSet("pending_question", None))
        photo = photo_confirmation.photo_sent(tracker)
        waiting_photo = None if new_drop else photo_confirmation.waiting_photo(tracker)
        before = {
            slot: value_before_latest_message(tracker, slot) for slot in photo_confirmation.SLOTS
        }
        if photo is not None:
            events += await self._ask_about_photo(dispatcher, tracker, photo)
        elif waiting_photo is not None and not (
            photo_confirmation.typed_details(events, before)
            or amount_confirmation.unsure_amount(tracker, latest_text(tracker), asked=False)
        ):
            events += await self._answer_about_photo(dispatcher, tracker, waiting_photo)
        else:
            if waiting_photo is not None:
                events.append(SlotSet("pending_question", None))  # typed details win
            events += self._confirm_amount(dispatcher, tracker, domain, events)
        if _waits(events):
            # A photo or an amount waits for the merchant's yes (or the details are asked for
            # in one message): the form neither completes nor asks.
            return [e for e in events if e.get("name") != "requested_slot" or e.get("value")]
        slots = {name: tracker.get_slot(name) for name in ("order_ref", "txn_time", "amount")}
        for event in events:
            if event.get("event") == "slot" and event.get("name") in slots:
                slots[event["name"]] = event.get("value")
        if slots["order_ref"] is None and slots["txn_time"] and slots["amount"]:
            events.append(SlotSet("order_ref", drop_details.UNKNOWN_REF))
        elif slots["order_ref"] not in (None, drop_details.UNKNOWN_REF):
            # A reference names the transaction: look now, whatever else is missing.
            events.append(SlotSet("requested_slot", None))
        return events

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> None:
        # The domain's order of required slots decides what to ask next.
        return None

    async def _ask_about_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, attachment_id: int
    ) -> list[EventType]:
        """A photo the service read: ask whether what it shows is right (nothing filled yet)."""
        fields = await photo_confirmation.fetch_fields(tracker.sender_id, attachment_id)
        if not fields or not photo_confirmation.slot_values(fields):
            return photo_confirmation.give_up(dispatcher, photo_confirmation.UNAVAILABLE)
        return photo_confirmation.ask(dispatcher, attachment_id, fields, self.clock())

    async def _answer_about_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, attachment_id: int
    ) -> list[EventType]:
        """The merchant's answer while a photo's details wait for a yes."""
        text, intent = latest_text(tracker), latest_intent(tracker)
        if amount_confirmation.says_yes(text, intent):
            fields = await photo_confirmation.fetch_fields(tracker.sender_id, attachment_id)
            if not fields:
                return photo_confirmation.give_up(dispatcher, photo_confirmation.UNAVAILABLE)
            return photo_confirmation.fill(tracker, fields)
        if amount_confirmation.says_no(text, intent):
            ref, time, amount = (tracker.get_slot(slot) for slot in DETAILS)
            if (ref and ref != drop_details.UNKNOWN_REF) or (time and amount):
                # What was typed before the photo is enough to look.
                return [SlotSet("pending_question", None)]
            return photo_confirmation.give_up(dispatcher, photo_confirmation.DENIED)
        if intent in DETOURS:
            # Nothing validated: the form lets the question's own rule answer, then waits again.
            return [SlotSet("requested_slot", amount_confirmation.WAITING)]
        return await self._ask_about_photo(dispatcher, tracker, attachment_id)

    def _confirm_amount(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Ask the merchant to confirm an amount read unsure, or take the answer to that."""
        if latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return []
        if self._answering_card(tracker) or self._answer(tracker, "terminal_no"):
            return []
        new_drop = self._new_drop(tracker)
        waiting = None if new_drop else amount_confirmation.waiting_amount(tracker)
        text = latest_text(tracker)
        correcting = latest_intent(tracker) == "correct_info" or drop_details.says_correction(text)
        held = value_before_latest_message(tracker, "amount")
        unsure = None
        if held is None or correcting or new_drop or waiting is not None:
            asked = tracker.get_slot("requested_slot") in ("amount", amount_confirmation.WAITING)
            unsure = amount_confirmation.unsure_amount(tracker, text, asked=asked or correcting)
        return amount_confirmation.settle(
            events,
            dispatcher,
            domain,
            text=text,
            intent=latest_intent(tracker),
            unsure=unsure,
            waiting=waiting,
        )

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
        if slot == "card_last4":
            return drop_details.card_last4(None, text) is not None
        return False

    def _follow_up(self, tracker: Tracker) -> bool:
        """After a diagnosis, a message that sounds like a drop report but gives no detail and
        no 还有一笔 is about the same drop (顾客不信, 到底扣没扣): it keeps what we hold."""
        if tracker.get_slot("diagnosis_code") is None:
            return False
        if merchant_claims.NEW_DROP_WORDS.search(latest_text(tracker)):
            return False
        # Only new values count here: 没小票 in 顾客说没小票就是没付成功 is no new report, nor
        # the amount we hold said again (卡上还是扣了199), nor 刚才 about this conversation.
        text = latest_text(tracker)
        ref = parse_reference(text)
        amount = drop_details.amount(None, text)
        time = drop_details.txn_time(None, text, self.clock())
        return not (
            (ref is not None and ref.value != tracker.get_slot("order_ref"))
            or (amount is not None and amount != tracker.get_slot("amount"))
            or (time is not None and not drop_details.says_just_now(text))
            or self._said_now(tracker, "card_last4")
        )

    @staticmethod
    def _back_to_other(tracker: Tracker) -> str | None:
        """The reference to check now when the merchant comes back to one given earlier."""
        waiting = list(tracker.get_slot("other_refs") or [])
        text = latest_text(tracker)
        if waiting and _THE_OTHER.search(text) and not find_references(text):
            return str(waiting[0])
        return None

    def _new_drop(self, tracker: Tracker) -> bool:
        """This message starts another drop: 还有一笔 after a diagnosis, the other reference of
        two, a photo sent outside the form, or a drop report that is not a follow-up about the
        drop just diagnosed."""
        if not self._activating(tracker):
            return False
        if latest_intent(tracker) == photo_confirmation.INTENT:
            return True  # a photo sent outside the form is another drop, read from scratch
        if self._back_to_other(tracker):
            return True
        if drop_details.says_correction(latest_text(tracker)):
            return False  # 说错了 / 应该是: the same drop, corrected
        diagnosed = tracker.get_slot("diagnosis_code") is not None
        if diagnosed and merchant_claims.NEW_DROP_WORDS.search(latest_text(tracker)):
            return True
        return latest_intent(tracker) == "report_drop" and not self._follow_up(tracker)

    def _stale(self, tracker: Tracker, slot: str) -> bool:
        """A new drop starts from scratch: forget details from earlier drops."""
        if slot == "order_ref" and self._back_to_other(tracker):
            return False
        return self._new_drop(tracker) and not self._said_now(tracker, slot)

    @staticmethod
    def _answer(tracker: Tracker, slot: str) -> str | None:
        """The value of a separating question's answer, when we just asked that question."""
        if tracker.get_slot("pending_question") != _QUESTION[slot]:
            return None
        text = latest_text(tracker)
        if slot == "card_last4":
            return drop_details.card_last4(None, text, bare_allowed=True)
        if slot == "terminal_no":
            return drop_details.terminal_answer(text)
        return drop_details.screen_answer(text)

    def _answering_card(self, tracker: Tracker) -> str | None:
        """Return the digits when the merchant answers our card question with a bare number."""
        return self._answer(tracker, "card_last4")

    def _keep_if_card_answer(self, tracker: Tracker, slot: str, value: Any) -> Slots | None:
        """Undo a slot the NLU filled with the card or terminal digits we just asked for."""
        for answered in ("card_last4", "terminal_no"):
            digits = self._answer(tracker, answered)
            if digits and any(digits in v for v in drop_details.candidates(value)):
                return {slot: value_before_latest_message(tracker, slot), answered: digits}
        return None

    # --- extraction from the raw text (values the NLU missed) -------------------

    def _scan(self, tracker: Tracker, slot: str) -> Slots:
        other = self._back_to_other(tracker)
        if slot == "order_ref" and other:
            return {slot: other}
        if entity_given(tracker, slot) or latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return {}
        if self._stale(tracker, slot) and tracker.get_slot(slot) is not None:
            return {slot: None}
        # A new drop's values replace the old drop's, as if nothing were held.
        current = None if self._new_drop(tracker) else tracker.get_slot(slot)
        text = latest_text(tracker)
        correcting = latest_intent(tracker) == "correct_info" or drop_details.says_correction(text)
        if slot == "txn_time":
            refined = drop_details.refine_time(current, text, self.clock(), correcting=correcting)
            if refined:
                return {slot: refined} if refined != current else {}
        if current is not None and not correcting and not self._new_drop(tracker):
            return {}
        if self._answering_card(tracker) or self._answer(tracker, "terminal_no"):
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
            # A correction without money words replaces the amount only when it names nothing
            # else: 应该是一百六十八, 改成660 (but not 改成八点三十五 or 尾号应该是7120).
            names_other = (
                parse_time(text, self.clock()) is not None
                or parse_reference(text) is not None
                or drop_details.card_last4(None, text) is not None
            )
            value = None if names_other else drop_details.amount(None, text, bare=True)
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

    def _separator_answer(self, tracker: Tracker, slot: str) -> Slots:
        if self._stale(tracker, slot):
            # A new drop: forget the earlier candidates' answers and questions.
            return {slot: None, "asked_separators": None}
        value = self._answer(tracker, slot)
        if value is None and slot == "terminal_no":
            value = drop_details.terminal_named(latest_text(tracker))
        return {slot: value} if value and value != tracker.get_slot(slot) else {}

    async def extract_other_refs(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """Several references in one message: the first is checked, the others wait."""
        if self._back_to_other(tracker):
            return {}  # the diagnosis takes the one it checks off the list
        if latest_intent(tracker) in NOT_ABOUT_THE_DROP:
            return {}
        refs = [ref.value for ref in find_references(latest_text(tracker))]
        return {"other_refs": refs[1:]} if len(refs) > 1 else {}

    async def extract_terminal_no(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._separator_answer(tracker, "terminal_no")

    async def extract_screen_shown(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._separator_answer(tracker, "screen_shown")

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
            held = value_before_latest_message(tracker, slot)
            if held is not None:
                # Nothing usable now (a clock minute the NLU took for money): keep what we had.
                return {slot: held}
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
        held = value_before_latest_message(tracker, "txn_time")
        if drop_details.only_when_said(value, latest_text(tracker)) or (
            latest_intent(tracker) != "correct_info"
            and drop_details.about_the_conversation(value, held)
        ):
            return {"txn_time": held}
        # A clock time said after a day belongs to that day: 11月24号 … 下午两点左右.
        text = latest_text(tracker)
        correcting = latest_intent(tracker) == "correct_info" or drop_details.says_correction(text)
        refined = drop_details.refine_time(held, text, self.clock(), correcting=correcting)
        if refined:
            return {"txn_time": refined, "fallback_count": 0.0}
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
        text = latest_text(tracker)
        # In a correction a plain number is the amount: 说错了是268不是286.
        correcting = latest_intent(tracker) == "correct_info" or drop_details.says_correction(text)
        normalised = drop_details.amount(value, text, bare=correcting)
        if normalised is None and drop_details.amount_to_confirm(value, text, bare=correcting):
            return {"amount": None}  # read, but unsure: run() asks the merchant to confirm it
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
