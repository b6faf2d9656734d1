"""Confirm what the service read on the merchant's photo before any of it is used (issue 18).

The service reads a photo as it arrives and gives the bot a ``/photo_read`` turn with the
attachment's id in the message metadata. The drop form fetches the reading and asks once:
「我从照片上看到：参考号 …，¥…，时间 …，对吗？」. Meanwhile nothing from the photo is in a slot:
``pending_question`` holds ``confirm_photo:<attachment id>`` and ``requested_slot`` names
``pending_question``, as for an amount read unsure (actions/amount_confirmation.py). A yes fills
the slots still empty (a typed value is never overwritten); a no asks for the details typed;
details typed meanwhile win and the photo is dropped; another photo replaces the one waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import drop_details
from actions.amount_confirmation import WAITING
from actions.normalise.timewindow import shanghai
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)

INTENT = "photo_read"
PREFIX = "confirm_photo:"
ASK = "utter_confirm_photo"
DENIED = "utter_photo_denied"
UNAVAILABLE = "utter_photo_unavailable"
# The slots a photo can fill, in the order they are filled.
SLOTS = ("order_ref", "amount", "txn_time", "card_last4", "terminal_no", "screen_shown")
_FIELD_NAMES = {"terminal_no": "终端号", "merchant_no": "商户编号", "batch_no": "批次号"}


def photo_sent(tracker: Tracker) -> int | None:
    """The attachment id of the photo this turn is about (a ``/photo_read`` turn), or None."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent != INTENT:
        return None
    metadata = tracker.latest_message.get("metadata") or {}
    if "attachment_id" not in metadata:
        # Older trackers keep the metadata only on the user event.
        user = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
        metadata = user.get("metadata") or {}
    try:
        return int(metadata["attachment_id"])
    except (KeyError, TypeError, ValueError):
        return None


def waiting_photo(tracker: Tracker) -> int | None:
    """The attachment whose reading waits for the merchant's yes, or None."""
    pending = tracker.get_slot("pending_question")
    if isinstance(pending, str) and pending.startswith(PREFIX):
        try:
            return int(pending[len(PREFIX) :])
        except ValueError:
            return None
    return None


def confirming(events: list[EventType]) -> bool:
    """Tell whether these events leave a photo waiting for the merchant's yes."""
    pending = None
    for event in events:
        if event.get("event") == "slot" and event.get("name") == "pending_question":
            pending = event.get("value")
    return isinstance(pending, str) and pending.startswith(PREFIX)


async def fetch_fields(session_id: str, attachment_id: int) -> dict[str, Any] | None:
    """The fields the service read on the photo, or None when there is no reading to use."""
    try:
        reading = await get_service().reading(session_id, attachment_id)
    except ServiceError as exc:
        logger.warning("reading of photo %s in %s: %s", attachment_id, session_id, exc)
        return None
    if not reading or reading.get("status") != "read":
        return None
    fields = reading.get("fields")
    return fields if isinstance(fields, dict) else None


def _moment(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(shanghai()) if moment.tzinfo is not None else None


def _amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if 0 < amount < drop_details.MAX_AMOUNT else None


def slot_values(fields: dict[str, Any]) -> dict[str, str]:
    """The form's slots as the photo fills them, in the form's own representation."""
    values: dict[str, str] = {}
    # A trace number (凭证号) is an order reference to the form, as when typed.
    ref = fields.get("reference_no") or fields.get("trace_no")
    if ref:
        values["order_ref"] = str(ref)
    amount = _amount(fields.get("amount")) if fields.get("amount") is not None else None
    if amount is not None:
        values["amount"] = f"{amount:.2f}"
    moment = _moment(fields.get("txn_time")) if fields.get("txn_time") else None
    if moment is not None:
        # The minute on the slip, as the form holds a clock time the merchant types (15:10).
        start = moment.replace(second=0, microsecond=0)
        values["txn_time"] = f"{start.isoformat()}/{(start + dt.timedelta(minutes=1)).isoformat()}"
    if fields.get("card_last4"):
        values["card_last4"] = str(fields["card_last4"])
    if fields.get("terminal_no"):
        values["terminal_no"] = str(fields["terminal_no"])
    screen = drop_details.screen_answer(str(fields.get("response_text") or ""))
    if screen:
        values["screen_shown"] = screen
    return values


def summary(fields: dict[str, Any], now: dt.datetime) -> str:
    """The fields in the merchant's words: 参考号 …，¥…，时间 今天 15:10，卡号尾号 …"""
    parts: list[str] = []
    if fields.get("reference_no"):
        parts.append(f"参考号 {fields['reference_no']}")
    elif fields.get("trace_no"):
        parts.append(f"凭证号 {fields['trace_no']}")
    amount = _amount(fields.get("amount")) if fields.get("amount") is not None else None
    if amount is not None:
        parts.append(f"¥{amount:,.2f}")
    moment = _moment(fields.get("txn_time")) if fields.get("txn_time") else None
    if moment is not None:
        parts.append(f"时间 {drop_details.describe_moment(moment.isoformat(), now)}")
    if fields.get("card_last4"):
        parts.append(f"卡号尾号 {fields['card_last4']}")
    if fields.get("response_text"):
        code = f"（应答码 {fields['response_code']}）" if fields.get("response_code") else ""
        parts.append(f"{fields['response_text']}{code}")
    if not parts:
        parts = [f"{name} {fields[key]}" for key, name in _FIELD_NAMES.items() if fields.get(key)]
    return "，".join(parts)


def ask(
    dispatcher: CollectingDispatcher, attachment_id: int, fields: dict[str, Any], now: dt.datetime
) -> list[EventType]:
    """Ask the merchant to confirm the photo's details; the form waits for the answer."""
    dispatcher.utter_message(response=ASK, summary=summary(fields, now))
    return [
        SlotSet("pending_question", f"{PREFIX}{attachment_id}"),
        SlotSet("requested_slot", WAITING),
    ]


def give_up(dispatcher: CollectingDispatcher, response: str) -> list[EventType]:
    """Drop the photo and ask for the details typed; the form waits for them.

    ``requested_slot`` stays ``pending_question`` (no question of its own) so that the form
    does not add its own question to this one.
    """
    dispatcher.utter_message(response=response)
    return [SlotSet("pending_question", None), SlotSet("requested_slot", WAITING)]


def fill(tracker: Tracker, fields: dict[str, Any]) -> list[EventType]:
    """The confirmed photo's values for the slots still empty (typed values are kept)."""
    events: list[EventType] = []
    for slot, value in slot_values(fields).items():
        held = tracker.get_slot(slot)
        if held is None or (slot == "order_ref" and held == drop_details.UNKNOWN_REF):
            events.append(SlotSet(slot, value))
    return [*events, SlotSet("pending_question", None), SlotSet("fallback_count", 0.0)]


def typed_details(events: list[EventType], before: dict[str, Any]) -> bool:
    """Tell whether this turn's events fill a detail with a value the merchant just gave."""
    return any(
        e.get("event") == "slot"
        and e.get("name") in SLOTS
        and e.get("value") is not None
        and e.get("value") != before.get(str(e.get("name")))
        for e in events
    )
