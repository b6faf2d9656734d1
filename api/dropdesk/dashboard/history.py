"""Write past conversations as the services would have left them (demo store and tests).

A Story is one conversation: its channel, the merchant's turns, the diagnosis, and how it
ended; `write` inserts the chat session, its messages, diagnosis, ticket, ticket events and
session transitions in bulk, so weeks of history take a moment.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from dropdesk import models as _models  # noqa: F401 - every mapper, for the bulk inserts
from dropdesk.conversation.models import ChatSession, Message
from dropdesk.dashboard.facts import SOLVED_REPLY
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.handoff.models import SessionTransition
from dropdesk.ticket.models import Ticket, TicketEvent

MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Handling:
    """What a person did with an escalated conversation (None for a step that never came)."""

    agent_id: int | None
    joined_after: dt.timedelta | None  # from escalation to the agent's claim
    first_reply_after: dt.timedelta | None  # from the claim
    resolved_after: dt.timedelta | None  # from the claim
    rating: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Story:
    merchant_id: int
    channel: str
    start: dt.datetime
    turns_before_diagnosis: int = 2
    code: str | None = None  # no diagnosis when None
    amount: Decimal | None = None
    terminal_no: str | None = None
    order_ref: str | None = None
    solved: bool = False  # the merchant said 解决了
    escalation: str | None = None  # reason, when a person was asked for
    handling: Handling | None = None
    sla_minutes: int = 10


@dataclass
class _Rows:
    sessions: list[dict[str, object]]
    messages: list[dict[str, object]]
    diagnoses: list[dict[str, object]]
    tickets: list[dict[str, object]]
    events: list[dict[str, object]]
    transitions: list[dict[str, object]]


def _candidate(story: Story) -> list[dict[str, object]]:
    if story.amount is None or story.terminal_no is None:
        return []
    return [{"terminal_no": story.terminal_no, "amount": f"{story.amount:.2f}",
             "card_masked": "622202******0128", "txn_type": "sale"}]  # fmt: skip


def _conversation(rows: _Rows, story: Story) -> None:
    sid = secrets.token_hex(16)
    at = story.start

    def say(sender: str, text: str, when: dt.datetime) -> None:
        rows.messages.append({
            "session_id": sid, "sender": sender, "text": text, "created_at": when,
            "buttons": None, "delivery": "delivered" if sender == "merchant" else None,
            "attachment_id": None, "agent_id": None,
        })  # fmt: skip

    for turn in range(story.turns_before_diagnosis):
        say("merchant", f"第{turn + 1}句：刷卡显示失败", at)
        say("bot", "请问是什么时候刷的？", at + dt.timedelta(seconds=2))
        at += MINUTE
    diagnosis_id = None
    if story.code is not None:
        diagnosis_id = len(rows.diagnoses) + 1
        rows.diagnoses.append({
            "session_id": sid, "code": story.code, "reason": "历史记录", "needs_human": False,
            "query": {"order_ref": story.order_ref}, "candidates": _candidate(story),
            "next_steps": [], "details": {}, "terminals": [], "created_at": at,
            "order_ref": story.order_ref, "merchant_turns": story.turns_before_diagnosis,
            "amount_fen": int(story.amount * 100) if _candidate(story) and story.amount
            else None, "terminal_no": story.terminal_no if _candidate(story) else None,
            "_key": diagnosis_id,
        })  # fmt: skip
        say("bot", "查到了这笔交易。这样问题解决了吗？", at + dt.timedelta(seconds=1))
        at += MINUTE
    if story.solved:
        say("merchant", "解决了", at)
        say("bot", SOLVED_REPLY, at + dt.timedelta(seconds=1))
        at += MINUTE
    status, assignee = "bot", None
    if story.escalation is not None:
        _escalate(rows, story, sid, at, diagnosis_id)
        handling = story.handling
        status = "queued"
        if handling is not None and handling.joined_after is not None:
            status, assignee = "agent", handling.agent_id
            if handling.resolved_after is not None:
                status = "bot"
        at = rows.transitions[-1]["created_at"]  # type: ignore[assignment]
    rows.sessions.append({
        "id": sid, "merchant_id": story.merchant_id, "channel": story.channel, "status": status,
        "order_ref": story.order_ref, "amount_fen": int(story.amount * 100) if story.amount
        else None, "escalated": story.escalation is not None, "assignee_id": assignee,
        "queued_at": None, "created_at": story.start, "updated_at": at,
        "_diagnosis": diagnosis_id,
    })  # fmt: skip


def _escalate(rows: _Rows, story: Story, sid: str, at: dt.datetime,
              diagnosis_id: int | None) -> None:  # fmt: skip
    handling = story.handling or Handling(None, None, None, None)
    moves: list[tuple[str | None, str, str, str, dt.datetime]] = [
        ("bot", "queued", "bot", story.escalation or "", at)
    ]
    ticket: dict[str, object] = {
        "ticket_no": f"DD-{at:%Y%m%d}-{secrets.token_hex(3).upper()}", "session_id": sid,
        "merchant_id": story.merchant_id, "reason": story.escalation, "status": "new",
        "priority": 2, "amount_fen": int(story.amount * 100) if story.amount else None,
        "assignee_id": None, "evidence": {}, "resolution": None, "resolution_note": None,
        "first_response_due_at": at + story.sla_minutes * MINUTE, "first_response_at": None,
        "rating": None, "created_at": at, "updated_at": at, "resolved_at": None,
        "_diagnosis": diagnosis_id,
    }  # fmt: skip
    events: list[tuple[str | None, str, str, str, dt.datetime]] = [
        (None, "new", "bot", story.escalation or "", at)
    ]
    if handling.joined_after is not None:
        joined = at + handling.joined_after
        actor = f"agent:{handling.agent_id}"
        moves.append(("queued", "agent", actor, "claim", joined))
        events.append(("new", "assigned", actor, "claim", joined))
        ticket.update(status="assigned", assignee_id=handling.agent_id, updated_at=joined)
        if handling.first_reply_after is not None:
            ticket["first_response_at"] = joined + handling.first_reply_after
            rows.messages.append({
                "session_id": sid, "sender": "agent", "text": "您好，我来帮您核对。",
                "created_at": joined + handling.first_reply_after, "buttons": None,
                "delivery": None, "attachment_id": None, "agent_id": handling.agent_id,
            })  # fmt: skip
        if handling.resolved_after is not None:
            done = joined + handling.resolved_after
            moves.append(("agent", "bot", actor, "resolve", done))
            events.append(("assigned", "resolved", actor, handling.note, done))
            ticket.update(status="resolved", resolution="explained", resolved_at=done,
                          resolution_note=handling.note, updated_at=done)  # fmt: skip
            if handling.rating is not None:
                events.append(("resolved", "closed", "merchant", f"rating {handling.rating}",
                               done + MINUTE))  # fmt: skip
                ticket.update(status="closed", rating=handling.rating)
    rows.tickets.append(ticket)
    key = len(rows.tickets)
    rows.events += [{"_ticket": key, "from_status": f, "to_status": t, "actor": a, "note": n,
                     "created_at": w} for f, t, a, n, w in events]  # fmt: skip
    rows.transitions += [{"session_id": sid, "from_status": f, "to_status": t, "actor": a,
                          "reason": r, "created_at": w} for f, t, a, r, w in moves]  # fmt: skip


def _insert_returning_ids(db_session: Session, model: type, rows: list[dict[str, object]]
                         ) -> list[int]:  # fmt: skip
    if not rows:
        return []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
    return list(db_session.scalars(statement, rows))


def write(*, db_session: Session, stories: list[Story]) -> list[str]:
    """Insert the stories' rows; return the new session ids in the stories' order."""
    rows = _Rows([], [], [], [], [], [])
    for story in stories:
        _conversation(rows, story)
    sessions = [{k: v for k, v in s.items() if k != "_diagnosis"} for s in rows.sessions]
    db_session.execute(insert(ChatSession), sessions)
    keys = [record.pop("_key") for record in rows.diagnoses]
    new_ids = _insert_returning_ids(db_session, DiagnosisRecord, rows.diagnoses)
    diagnosis_ids = dict(zip(keys, new_ids, strict=True))
    links = [{"id": raw["id"], "latest_diagnosis_id": diagnosis_ids[raw["_diagnosis"]]}
             for raw in rows.sessions if raw["_diagnosis"] is not None]  # fmt: skip
    if links:
        db_session.execute(update(ChatSession), links)
    if rows.messages:
        db_session.execute(insert(Message), rows.messages)
    for ticket in rows.tickets:
        ticket["diagnosis_id"] = diagnosis_ids.get(ticket.pop("_diagnosis"))
    ticket_ids = _insert_returning_ids(db_session, Ticket, rows.tickets)
    events = [
        {**{k: v for k, v in e.items() if k != "_ticket"},
         "ticket_id": ticket_ids[int(str(e["_ticket"])) - 1]}
        for e in rows.events
    ]  # fmt: skip
    if events:
        db_session.execute(insert(TicketEvent), events)
    if rows.transitions:
        db_session.execute(insert(SessionTransition), rows.transitions)
    db_session.flush()
    return [str(s["id"]) for s in sessions]
