"""Confirm an amount read unsure (壹仟伍元, 1,2800元, a bare 6688) with the merchant, never guess.

The drop form asks 「您说的金额是 ¥1,500.00 吗？」 and waits: the amount slot stays empty, the
value waits in ``pending_question`` as ``confirm_amount:1500.00``, and ``requested_slot`` names
``pending_question`` (a slot with no question of its own) so the form neither completes nor asks
for the amount again. A yes fills the amount; a no asks for it; a new amount replaces it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import drop_details

PREFIX = "confirm_amount:"
WAITING = "pending_question"  # the requested slot while the merchant confirms
RESPONSE = "utter_confirm_amount"
_YES = re.compile(
    r"^(?:是|是的|是啊|是滴|对|对的|对啊|对呀|没错|没错的|正确|嗯+|恩|好|好的|ok|yes|y)[。！!~～\s]*$"
)
_NO = re.compile(r"^(?:不是|不对|错了|否)|^(?:不|no|n)[。！!~～\s]*$")


def waiting_amount(tracker: Tracker) -> str | None:
    """The amount waiting for the merchant's yes, or None."""
    pending = tracker.get_slot("pending_question")
    if isinstance(pending, str) and pending.startswith(PREFIX):
        return pending[len(PREFIX) :]
    return None


def says_yes(text: str, intent: str | None) -> bool:
    """Tell whether the merchant confirms: 是的, 对, 没错 (or the NLU's affirm)."""
    text = text.strip().lower()
    return (intent == "affirm" and not _NO.match(text)) or _YES.match(text) is not None


def says_no(text: str, intent: str | None) -> bool:
    """Tell whether the merchant says the amount is wrong: 不是, 不对 (or the NLU's deny)."""
    return intent == "deny" or _NO.match(text.strip().lower()) is not None


def ask(dispatcher: CollectingDispatcher, domain: DomainDict, value: str) -> None:
    """Ask the merchant to confirm the amount: 您说的金额是 ¥1,050.00 吗？"""
    shown = f"{Decimal(value):,.2f}"
    if RESPONSE in (domain.get("responses") or {}):
        dispatcher.utter_message(response=RESPONSE, amount=shown)
    else:
        # Until the domain carries utter_confirm_amount (added at the next retrain).
        dispatcher.utter_message(
            text=f"您说的金额是 ¥{shown} 吗？对的话回复“是”，不对请直接告诉我正确的金额。"
        )


def _set_now(events: list[EventType], slot: str) -> tuple[bool, Any]:
    """Whether the events set the slot, and the last value they set."""
    values = [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == slot]
    return (bool(values), values[-1] if values else None)


def settle(
    events: list[EventType],
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    *,
    text: str,
    intent: str | None,
    unsure: str | None,
    waiting: str | None,
) -> list[EventType]:
    """Events to add to the form's: the answer to a pending confirmation, or a new question.

    ``unsure`` is this message's amount when its only reading is unsure (None otherwise);
    ``waiting`` the amount asked about before this message.
    """
    amount_set, amount_now = _set_now(events, "amount")
    if amount_set and amount_now is not None:
        # A sure amount was given: nothing left to confirm.
        return [SlotSet("pending_question", None)] if waiting else []
    if unsure is not None and unsure != waiting:
        ask(dispatcher, domain, unsure)
        return [
            SlotSet("amount", None),
            SlotSet("pending_question", PREFIX + unsure),
            SlotSet("requested_slot", WAITING),
        ]
    if waiting is None:
        return []
    if says_yes(text, intent):
        return [SlotSet("amount", waiting), SlotSet("pending_question", None)]
    if says_no(text, intent):
        return [SlotSet("pending_question", None), SlotSet("requested_slot", "amount")]
    if unsure == waiting:
        ask(dispatcher, domain, unsure)  # said the same way again: ask again
    # Still waiting for the yes (a reference given meanwhile is kept, and looked up after it).
    return [SlotSet("pending_question", PREFIX + waiting), SlotSet("requested_slot", WAITING)]


def confirming(events: list[EventType]) -> bool:
    """Tell whether these events leave an amount waiting for the merchant's yes."""
    _, pending = _set_now(events, "pending_question")
    return isinstance(pending, str) and pending.startswith(PREFIX)


def unsure_amount(tracker: Tracker, text: str, *, asked: bool) -> str | None:
    """This message's amount when it can only be read unsure (what the NLU heard counts too)."""
    value = tracker.get_slot("amount") if _amount_entity(tracker) else None
    held = drop_details.amount(None, text, bare=asked)
    if held is not None:
        return None
    return drop_details.amount_to_confirm(value, text, bare=asked)


def _amount_entity(tracker: Tracker) -> bool:
    return any(e.get("entity") == "amount" for e in tracker.latest_message.get("entities", []))
