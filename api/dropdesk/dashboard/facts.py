"""One row per conversation (or per ticket) with what the dashboard counts, straight from SQL.

Every figure is an aggregate of these rows and every drill-down a filter on the same rows, so a
figure and the list of conversations behind it cannot disagree. A conversation is a chat
session created in the period; its outcome:

- escalated: a person was asked for (by the merchant, the diagnosis, a "not solved", or the
  bot's fallbacks); the reason is that of the session's first ticket;
- solved: diagnosed, never escalated, and the merchant said 解决了 (the bot's reply to it is in
  the transcript);
- silent: diagnosed, never escalated, and nothing more for 30 minutes;
- undiagnosed: no diagnosis, no person, and nothing more for 30 minutes;
- open: still going (something was said in the last 30 minutes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from dropdesk.conversation.models import ChatSession, Message, Sender, SessionStatus
from dropdesk.dashboard.period import Period
from dropdesk.dashboard.sqlfn import local_day, local_hour, seconds_between
from dropdesk.database.core import UTCDateTime
from dropdesk.diagnosis.models import DiagnosisRecord, DropCode
from dropdesk.handoff.models import SessionTransition
from dropdesk.terminal.models import Terminal
from dropdesk.ticket.models import Ticket

# The bot's reply when the merchant says the drop is solved (utter_solved in bot/domain.yml;
# tests/api/test_dashboard_facts.py keeps the two equal). Migration 0008 indexes these messages.
SOLVED_REPLY = "太好了！以后再遇到掉单随时找我。"
QUIET_MINUTES = 30
OUTCOMES = ("solved", "silent", "escalated", "undiagnosed", "open")
BOT_RESOLVED = ("solved", "silent")
# Codes where the terminal's own link or software let the sale drop: counted per terminal.
TERMINAL_CODES = (
    DropCode.APPROVED_NOT_PRINTED,
    DropCode.REVERSED,
    DropCode.REVERSAL_FAILED,
    DropCode.DUPLICATE_CHARGE,
)


def at(moment: dt.datetime) -> Any:
    """A moment written into the SQL itself: PostgreSQL plans a range for its own bounds.

    A bound parameter lets psycopg prepare the statement after a few runs, and the generic
    plan it then keeps guesses the range's size (a month ran twice as slow in the bench).
    """
    return bindparam("at", moment, type_=UTCDateTime(), unique=True, literal_execute=True)


@dataclass(frozen=True)
class Scope:
    """Whose figures: everyone's (a supervisor) or one agent's own tickets."""

    agent_id: int | None = None

    @property
    def everyone(self) -> bool:
        return self.agent_id is None


def _first_per_session(model: Any, period: Period, *columns: Any) -> Any:
    """The first row (by id) per session of diagnoses or tickets made since the period began."""
    ranked = select(
        model.session_id,
        *columns,
        func.row_number().over(partition_by=model.session_id, order_by=model.id).label("rn"),
    ).where(model.created_at >= at(period.start))
    inner = ranked.subquery()
    return select(*[c for c in inner.c if c.name != "rn"]).where(inner.c.rn == 1).subquery()


def solved_sessions(period: Period) -> Select[Any]:
    return select(Message.session_id).where(
        Message.sender == Sender.BOT,
        Message.text == SOLVED_REPLY,
        Message.created_at >= at(period.start),
    )


def outcome(period: Period, now: dt.datetime) -> ColumnElement[str]:
    quiet = ChatSession.updated_at <= at(now - dt.timedelta(minutes=QUIET_MINUTES))
    diagnosed = ChatSession.latest_diagnosis_id.is_not(None)
    return case(
        (ChatSession.escalated, literal("escalated")),
        (and_(diagnosed, ChatSession.id.in_(solved_sessions(period))), literal("solved")),
        (and_(diagnosed, quiet), literal("silent")),
        (quiet, literal("undiagnosed")),
        else_=literal("open"),
    )


class Conversations:
    """Builds the per-conversation rows, joining only what the caller asks for."""

    def __init__(self, period: Period, now: dt.datetime) -> None:
        self.period, self.now = period, now
        self.latest = aliased(DiagnosisRecord, name="latest")
        self._diagnoses: Any = None
        self._first_ticket: Any = None

    def diagnoses(self) -> Any:
        """Per session: its first diagnosis's time and turns, how many, how many without a ref.

        The merchant's turns up to a diagnosis are kept on its record when it is made (a count
        that only grows within a session): the least of them is the first diagnosis's.
        """
        if self._diagnoses is None:
            order_ref = func.coalesce(DiagnosisRecord.order_ref, "")
            self._diagnoses = (
                select(
                    DiagnosisRecord.session_id,
                    func.min(DiagnosisRecord.created_at).label("at"),
                    func.min(DiagnosisRecord.merchant_turns).label("turns"),
                    func.count().label("n"),
                    func.sum(case((order_ref == "", 1), else_=0)).label("no_ref"),
                )
                .where(DiagnosisRecord.created_at >= at(self.period.start))
                .group_by(DiagnosisRecord.session_id)
                .subquery("diagnoses")
            )
        return self._diagnoses

    def first_ticket(self) -> Any:
        if self._first_ticket is None:
            self._first_ticket = _first_per_session(
                Ticket, self.period, Ticket.reason.label("reason")
            )
        return self._first_ticket

    def columns(self) -> dict[str, Any]:
        """Column builders by name (called lazily: a name not asked for joins nothing)."""
        latest = self.latest
        return {
            "sid": lambda: ChatSession.id,
            "channel": lambda: ChatSession.channel,
            "day": lambda: local_day(ChatSession.created_at),
            "hour": lambda: local_hour(ChatSession.created_at),
            "created_at": lambda: ChatSession.created_at,
            "merchant_id": lambda: ChatSession.merchant_id,
            "status": lambda: ChatSession.status,
            "outcome": lambda: outcome(self.period, self.now),
            "code": lambda: latest.code,
            "amount_fen": lambda: func.coalesce(latest.amount_fen, ChatSession.amount_fen),
            "terminal_no": lambda: latest.terminal_no,
            "reason": lambda: self.first_ticket().c.reason,
            "diagnosed_at": lambda: self.diagnoses().c.at,
            "turns": lambda: self.diagnoses().c.turns,
            "diagnoses": lambda: self.diagnoses().c.n,
            "no_ref": lambda: self.diagnoses().c.no_ref,
        }

    def select(self, *names: str) -> Select[Any]:
        """The conversations of the period with the named columns."""
        builders = self.columns()
        query = select(*[builders[name]().label(name) for name in names]).where(
            ChatSession.created_at >= at(self.period.start),
            ChatSession.created_at < at(self.period.end),
        )
        query = query.select_from(ChatSession)
        if {"code", "amount_fen", "terminal_no"} & set(names):
            # A session's diagnoses come after it began: the range keeps the join to the period.
            query = query.outerjoin(self.latest, and_(
                self.latest.id == ChatSession.latest_diagnosis_id,
                self.latest.created_at >= at(self.period.start),
            ))  # fmt: skip
        if self._diagnoses is not None:
            query = query.outerjoin(
                self._diagnoses, self._diagnoses.c.session_id == ChatSession.id
            )
        if self._first_ticket is not None:
            query = query.outerjoin(
                self._first_ticket, self._first_ticket.c.session_id == ChatSession.id
            )
        return query


def terminal_rows(conversations: Conversations) -> Select[Any]:
    """Conversations whose drop points at one terminal, with that terminal's software."""
    rows = (
        conversations.select("sid", "merchant_id", "code", "terminal_no")
        .where(conversations.latest.code.in_([c.value for c in TERMINAL_CODES]))
        .subquery()
    )
    return select(
        rows.c.sid,
        rows.c.merchant_id,
        rows.c.terminal_no,
        Terminal.id.label("terminal_id"),
        func.coalesce(Terminal.software_version, "未知").label("version"),
        Terminal.model,
    ).join(
        Terminal,
        and_(
            Terminal.merchant_id == rows.c.merchant_id,
            Terminal.terminal_no == rows.c.terminal_no,
        ),
    )


# --- tickets: the queue, the agents and the ratings ---------------------------------------------


def rated(period: Period, scope: Scope) -> Select[Any]:
    """Tickets opened in the period that the merchant rated."""
    query = select(Ticket).where(
        Ticket.created_at >= at(period.start), Ticket.created_at < at(period.end),
        Ticket.rating.is_not(None),
    )  # fmt: skip
    return query if scope.everyone else query.where(Ticket.assignee_id == scope.agent_id)


def tickets(period: Period, now: dt.datetime, scope: Scope) -> Select[Any]:
    """Tickets opened in the period: wait before an agent joined, handle time, SLA, rating."""
    joined = (
        select(
            Ticket.id.label("ticket_id"),
            func.min(SessionTransition.created_at).label("joined_at"),
        )
        .join(
            SessionTransition,
            and_(
                SessionTransition.session_id == Ticket.session_id,
                SessionTransition.to_status == SessionStatus.AGENT,
                SessionTransition.created_at >= Ticket.created_at,
            ),
        )
        .where(Ticket.created_at >= at(period.start), Ticket.created_at < at(period.end))
        .group_by(Ticket.id)
        .subquery()
    )
    met = Ticket.first_response_at <= Ticket.first_response_due_at
    breached = or_(
        Ticket.first_response_at > Ticket.first_response_due_at,
        and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at < at(now)),
    )
    query: Select[Any] = (
        select(  # type: ignore[assignment]
            Ticket.id.label("ticket_id"),
            Ticket.ticket_no,
            Ticket.session_id.label("sid"),
            Ticket.assignee_id.label("agent_id"),
            Ticket.rating,
            Ticket.rating_comment.label("comment"),
            Ticket.resolution,
            Ticket.resolution_note,
            Ticket.created_at,
            seconds_between(Ticket.created_at, joined.c.joined_at).label("wait_s"),
            seconds_between(joined.c.joined_at, Ticket.resolved_at).label("handle_s"),
            case((met, literal("met")), (breached, literal("breached")), else_=literal("pending"))
            .label("sla"),
        )
        .outerjoin(joined, joined.c.ticket_id == Ticket.id)
        .where(Ticket.created_at >= at(period.start), Ticket.created_at < at(period.end))
    )
    if not scope.everyone:
        query = query.where(Ticket.assignee_id == scope.agent_id)
    return query
