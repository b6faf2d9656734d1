"""Ask the service what happened to the transaction and explain it to the merchant."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import drop_details, vocabulary
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)

SEPARATING = {"card_last4", "time", "amount", "reference"}
DETAIL_SLOTS = ("order_ref", "txn_time", "amount", "card_last4")


def build_query(slots: dict[str, Any]) -> dict[str, Any]:
    """Build the diagnosis request body from normalised slot values."""
    ref = slots.get("order_ref")
    when = slots.get("txn_time")
    interval = drop_details.parse_interval(str(when)) if when else None
    return {
        "order_ref": None if ref in (None, drop_details.UNKNOWN_REF) else str(ref),
        "time_from": interval[0].isoformat() if interval else None,
        "time_to": interval[1].isoformat() if interval else None,
        "amount": slots.get("amount"),
        "card_last4": slots.get("card_last4"),
    }


def _first(transactions: list[dict[str, Any]], key: str, default: str = "—") -> str:
    for txn in transactions:
        if txn.get(key):
            return str(txn[key])
    return default


def render(code: str, result: dict[str, Any], slots: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Choose the response for a diagnosis and the variables it needs."""
    details: dict[str, Any] = result.get("details") or {}
    txns: list[dict[str, Any]] = result.get("transactions") or []
    if code == "declined":
        return "utter_diagnosis_declined", {
            "response_code": details.get("response_code") or "无",
            "response_meaning": details.get("response_meaning") or "POS 机没有收到银行应答",
        }
    if code == "reversed":
        return "utter_diagnosis_reversed", {
            "money_back_by": drop_details.describe_date(details.get("money_back_by"))
        }
    if code == "approved_not_printed":
        return "utter_diagnosis_approved_not_printed", {"ref_no": _first(txns, "ref_no")}
    if code == "settlement_pending":
        return "utter_diagnosis_settlement_pending", {
            "expected_date": drop_details.describe_date(details.get("expected_date"))
        }
    if code == "settled":
        return "utter_diagnosis_settled", {
            "settlement_date": drop_details.describe_date(details.get("settlement_date")),
            "batch_no": details.get("batch_no") or _first(txns, "batch_no"),
            "settlement_account": details.get("settlement_account") or "登记的账户",
        }
    if code == "duplicate_charge":
        steps = result.get("next_steps") or []
        if result.get("needs_human"):
            name = "utter_diagnosis_duplicate_charge_escalate"
        elif "void_extra_today" in steps:
            name = "utter_diagnosis_duplicate_charge_void"
        else:
            name = "utter_diagnosis_duplicate_charge_refund"
        extra = txns[-1] if txns else {}
        return name, {
            "count": max(len(txns), 2),
            "amount": _first(txns, "amount", str(slots.get("amount") or "—")),
            "extra_trace": extra.get("trace_no") or extra.get("ref_no") or "—",
        }
    if code == "ambiguous":
        separating = details.get("separating")
        if separating not in SEPARATING:
            separating = "reference"
        return f"utter_ask_separating_{separating}", {"count": len(txns) or "几"}
    if code in vocabulary.drop_codes():
        return f"utter_diagnosis_{code}", {}
    return "utter_diagnosis_unknown", {}


class ActionDiagnose(Action):
    """Call the diagnosis service and answer in one block: heard, what happened, what to do."""

    clock: Callable[[], dt.datetime] = staticmethod(drop_details.now_shanghai)

    def name(self) -> str:
        return "action_diagnose"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = {name: tracker.get_slot(name) for name in DETAIL_SLOTS}
        heard = drop_details.heard(slots, self.clock())
        try:
            result = await get_service().diagnose(tracker.sender_id, build_query(slots))
        except ServiceError as exc:
            logger.warning("diagnosis failed: %s", exc)
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("needs_human", False), SlotSet("fallback_count", 0.0)]

        code = str(result.get("code"))
        known = code in vocabulary.drop_codes()
        needs_human = (
            bool(result.get("needs_human")) or code in vocabulary.needs_human_codes() or not known
        )
        response, variables = render(code, result, slots)
        dispatcher.utter_message(response=response, heard=heard, **variables)
        if not needs_human and code != "ambiguous":
            dispatcher.utter_message(response="utter_ask_solved")
        pending = (result.get("details") or {}).get("separating") if code == "ambiguous" else None
        return [
            SlotSet("diagnosis_code", code if known else None),
            SlotSet("needs_human", needs_human),
            SlotSet("pending_question", pending),
            SlotSet("fallback_count", 0.0),
        ]
