"""Ask the service what happened to the transaction and explain it to the merchant."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import drop_details, merchant_claims, vocabulary
from actions.merchant_claims import Claims
from actions.normalise.timewindow import shanghai
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)

SEPARATING = ("card_last4", "time", "terminal", "screen", "amount", "reference")
DETAIL_SLOTS = ("order_ref", "txn_time", "amount", "card_last4", "terminal_no", "screen_shown")


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
        "terminal_no": slots.get("terminal_no"),
        "screen": slots.get("screen_shown"),
    }


def _first(transactions: list[dict[str, Any]], key: str, default: str = "—") -> str:
    for txn in transactions:
        if txn.get(key):
            return str(txn[key])
    return default


@dataclass(frozen=True)
class Answer:
    """The response to a diagnosis, its variables, and how the conversation goes on."""

    response: str
    variables: dict[str, Any] = field(default_factory=dict)
    code: str | None = None  # the code the answer speaks for, when not the service's
    escalate: bool = False  # a person must look at it, whatever the service said
    asks_solved: bool = True  # False: the answer asks for more or offers a person itself
    question: str | None = None  # the separating question asked, for ambiguous candidates


def _not_found(claims: Claims) -> Answer:
    # "Not found" is no proof the customer kept their money: only charge again when the
    # merchant said neither that the customer was charged nor that the money is missing.
    if claims.charged and claims.not_arrived:
        return Answer("utter_diagnosis_not_found_charged_not_arrived", asks_solved=False)
    if claims.charged:
        return Answer("utter_diagnosis_not_found_charged", asks_solved=False)
    if claims.not_arrived:
        return Answer("utter_diagnosis_not_found_not_arrived", asks_solved=False)
    return Answer("utter_diagnosis_not_found")


def _reversed(details: dict[str, Any], today: dt.date) -> Answer:
    how = details.get("how")
    if how in ("voided", "refunded"):
        # The merchant undid a sale the customer paid: its own timing, and never charge again.
        return Answer(f"utter_diagnosis_reversed_{how}")
    back_by = details.get("money_back_by")
    day = drop_details.parse_date(back_by)
    name = "utter_diagnosis_reversed"
    if day is not None and day < today:
        name = "utter_diagnosis_reversed_already_back"
    date = drop_details.describe_date(back_by, today, default="下一个工作日")
    return Answer(name, {"money_back_by": date})


def _settlement_pending(details: dict[str, Any], today: dt.date) -> Answer:
    expected = details.get("expected_date")
    day = drop_details.parse_date(expected)
    if day is not None and day < today:
        # A promised date that has passed is a delay: never quote it as still to come.
        return Answer(
            "utter_diagnosis_settlement_delayed",
            code="settlement_delayed",
            escalate=True,
            asks_solved=False,
        )
    return Answer(
        "utter_diagnosis_settlement_pending",
        {"expected_date": drop_details.describe_date(expected, today)},
    )


def _duplicate_charge(
    result: dict[str, Any], txns: list[dict[str, Any]], slots: dict[str, Any]
) -> Answer:
    steps = result.get("next_steps") or []
    if result.get("needs_human"):
        name = "utter_diagnosis_duplicate_charge_escalate"
    elif "void_extra_today" in steps:
        name = "utter_diagnosis_duplicate_charge_void"
    else:
        name = "utter_diagnosis_duplicate_charge_refund"
    extra = txns[-1] if txns else {}
    return Answer(
        name,
        {
            "count": max(len(txns), 2),
            "amount": _first(txns, "amount", str(slots.get("amount") or "—")),
            "extra_trace": extra.get("trace_no") or extra.get("ref_no") or "—",
        },
    )


def separators(details: dict[str, Any]) -> list[str]:
    """The service's questions that tell the candidates apart, best first."""
    named = str(details.get("separators") or details.get("separating") or "").split(",")
    return [name for name in named if name in SEPARATING] or ["reference"]


def _terminals(txns: list[dict[str, Any]]) -> str:
    numbers = sorted({str(t["terminal_no"]) for t in txns if t.get("terminal_no")})
    return "、".join(numbers) or "—"


def _ambiguous(details: dict[str, Any], txns: list[dict[str, Any]], asked: list[str]) -> Answer:
    """Ask the next question that tells the candidates apart, never one asked already.

    When none is left, a person takes it with every candidate in the diagnosis.
    """
    left = [name for name in separators(details) if name not in asked]
    count = len(txns) or "几"
    if not left:
        return Answer(
            "utter_ambiguous_escalate", {"count": count}, escalate=True, asks_solved=False
        )
    return Answer(
        f"utter_ask_separating_{left[0]}",
        {"count": count, "terminals": _terminals(txns)},
        asks_solved=False,
        question=left[0],
    )


def render(
    code: str,
    result: dict[str, Any],
    slots: dict[str, Any],
    *,
    today: dt.date,
    claims: Claims | None = None,
    asked: list[str] | None = None,
) -> Answer:
    """Choose the answer to a diagnosis from its facts, what the merchant said, and today."""
    details: dict[str, Any] = result.get("details") or {}
    txns: list[dict[str, Any]] = result.get("transactions") or []
    if code == "declined":
        return Answer(
            "utter_diagnosis_declined",
            {
                "response_code": details.get("response_code") or "无",
                "response_meaning": details.get("response_meaning") or "POS 机没有收到银行应答",
            },
        )
    if code == "reversed":
        return _reversed(details, today)
    if code == "not_found":
        return _not_found(claims or Claims())
    if code == "approved_not_printed":
        return Answer("utter_diagnosis_approved_not_printed", {"ref_no": _first(txns, "ref_no")})
    if code == "settlement_pending":
        return _settlement_pending(details, today)
    if code == "settled":
        settled_on = details.get("settlement_date")
        return Answer(
            "utter_diagnosis_settled",
            {
                "settlement_date": drop_details.describe_date(settled_on, today),
                "batch_no": details.get("batch_no") or _first(txns, "batch_no"),
                "settlement_account": details.get("settlement_account") or "登记的账户",
            },
        )
    if code == "duplicate_charge":
        return _duplicate_charge(result, txns, slots)
    if code == "ambiguous":
        return _ambiguous(details, txns, asked or [])
    if code in vocabulary.drop_codes():
        return Answer(f"utter_diagnosis_{code}")
    return Answer("utter_diagnosis_unknown")


def same_drop_again(events: list[dict[str, Any]]) -> bool:
    """True when the drop was diagnosed before and no detail changed since: the merchant is
    coming back to the same answer (顾客不信, 到底扣没扣), not reporting anything new."""
    for event in reversed(events):
        if event.get("event") == "action" and event.get("name") == "action_diagnose":
            return True
        if event.get("event") == "slot" and event.get("name") in DETAIL_SLOTS:
            return False
    return False


class ActionDiagnose(Action):
    """Call the diagnosis service and answer in one block: heard, what happened, what to do."""

    clock: Callable[[], dt.datetime] = staticmethod(drop_details.now_shanghai)

    def name(self) -> str:
        return "action_diagnose"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = {name: tracker.get_slot(name) for name in DETAIL_SLOTS}
        now = self.clock()
        heard = drop_details.heard(slots, now)
        try:
            result = await get_service().diagnose(tracker.sender_id, build_query(slots))
        except ServiceError as exc:
            logger.warning("diagnosis failed: %s", exc)
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet("needs_human", False), SlotSet("fallback_count", 0.0)]

        code = str(result.get("code"))
        known = code in vocabulary.drop_codes()
        today = now.astimezone(shanghai()).date()
        said = merchant_claims.claims(tracker.events)
        asked = list(tracker.get_slot("asked_separators") or []) if code == "ambiguous" else []
        if code == "ambiguous" and merchant_claims.said_no_reference(tracker.events):
            asked.append("reference")  # 单子也没有: asking for the reference again is no use
        answer = render(code, result, slots, today=today, claims=said, asked=asked)
        needs_human = (
            bool(result.get("needs_human"))
            or code in vocabulary.needs_human_codes()
            or not known
            or answer.escalate
        )
        details = result.get("details") or {}
        before = tracker.get_slot("diagnosis_code")
        again = (
            code != "ambiguous"
            and before not in (None, "ambiguous")
            and same_drop_again(list(tracker.events))
        )
        if again:
            # Push-back on an answer: acknowledge, say it again, and offer a person.
            dispatcher.utter_message(response="utter_followup_same_result")
        if code == "ambiguous" and details.get("outcomes_differ") == "true":
            dispatcher.utter_message(response="utter_candidates_differ_in_outcome")
        dispatcher.utter_message(response=answer.response, heard=heard, **answer.variables)
        checked = slots.get("order_ref")
        waiting = [str(ref) for ref in tracker.get_slot("other_refs") or [] if ref != checked]
        if waiting:
            refs = "、".join(drop_details.describe_ref(ref) for ref in waiting)
            dispatcher.utter_message(response="utter_other_refs_waiting", refs=refs)
        if again and not needs_human:
            dispatcher.utter_message(response="utter_followup_offer_human")
        elif not needs_human and answer.asks_solved:
            dispatcher.utter_message(response="utter_ask_solved")
        return [
            SlotSet("diagnosis_code", (answer.code or code) if known else None),
            # Still asking which candidate it was: neither solved nor for a person yet (the
            # rules for 解决了/没解决 after an answer must not fire on the answer to a question).
            SlotSet("needs_human", None if answer.question else needs_human),
            SlotSet("pending_question", answer.question),
            SlotSet("asked_separators", [*asked, answer.question] if answer.question else None),
            SlotSet("other_refs", waiting or None),
            SlotSet("fallback_count", 0.0),
        ]
