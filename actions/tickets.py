"""Tell the merchant where their support tickets stand."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import drop_details, vocabulary
from actions.normalise import parse_ticket_no
from actions.service_client import ServiceError, get_service

logger = logging.getLogger(__name__)


def asked_ticket_no(tracker: Tracker) -> str | None:
    """The ticket number the merchant quoted (entity first, then the text), uppercase."""
    for value in tracker.get_latest_entity_values("ticket_no"):
        found = parse_ticket_no(str(value))
        if found:
            return found
    return parse_ticket_no(str(tracker.latest_message.get("text") or ""))


def status_text(ticket: dict[str, Any]) -> str:
    """The ticket's status in merchant words, with the queue place while it waits."""
    status = str(ticket.get("status"))
    text = vocabulary.ticket_statuses().get(status, status)
    position = ticket.get("queue_position")
    if status == "new" and isinstance(position, int) and position > 0:
        return f"{text}，现在排第 {position} 位"
    return text


def progress(ticket: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The variables of utter_ticket_status for one ticket."""
    status = status_text(ticket)
    when = drop_details.describe_moment(ticket.get("updated_at"), now) or "—"
    update = str(ticket.get("last_update") or "").strip()
    # last_update usually repeats the status; say it only when it adds something.
    said = when if not update or status.startswith(update) else f"{when}，{update}"
    return {
        "ticket_no": str(ticket.get("ticket_no")),
        "ticket_status": status,
        "assignee": ticket.get("assignee") or "还没分配",
        "last_update": said,
    }


class ActionTicketStatus(Action):
    """Look up the merchant's tickets and say how each stands."""

    clock: Callable[[], dt.datetime] = staticmethod(drop_details.now_shanghai)

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ticket_no = asked_ticket_no(tracker)
        try:
            tickets = await get_service().tickets(tracker.sender_id, ticket_no)
        except ServiceError as exc:
            logger.warning("ticket lookup failed: %s", exc)
            dispatcher.utter_message(response="utter_ticket_status_unavailable")
            return []
        if not tickets:
            if ticket_no:
                dispatcher.utter_message(response="utter_ticket_not_found")
            else:
                dispatcher.utter_message(response="utter_no_tickets")
            return []
        newest, *older = tickets
        dispatcher.utter_message(response="utter_ticket_status", **progress(newest, self.clock()))
        if older:
            listed = "；".join(f"{t.get('ticket_no')}（{status_text(t)}）" for t in older)
            dispatcher.utter_message(response="utter_ticket_status_older", older=listed)
        return []
