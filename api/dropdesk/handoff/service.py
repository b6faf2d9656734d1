"""Who speaks in a session: every change of hands is one conditional update plus its history.

bot -> queued (escalation) -> agent (claim) -> queued (release, silence) or bot (hand-back,
resolve); closed ends a session. The database is the only authority: a change whose
precondition no longer holds (someone else claimed first) raises ConflictError.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.agent.models import Agent, AgentRole
from dropdesk.card import mask_pans
from dropdesk.config import Settings
from dropdesk.conversation.models import ChatSession, Message, Sender, SessionStatus
from dropdesk.database.core import update_if_status
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from dropdesk.handoff.models import QueueEntry, SessionNote, SessionTransition
from dropdesk.merchant.models import Merchant
from dropdesk.ticket import service as ticket_service
from dropdesk.ticket.models import OPEN_STATUSES, EscalationReason, Ticket, TicketStatus
from dropdesk.timezone import SHANGHAI


def actor_of(agent: Agent) -> str:
    return f"agent:{agent.name}"


def transition(
    *,
    db_session: Session,
    session_id: str,
    allowed_from: Sequence[SessionStatus],
    to: SessionStatus,
    actor: str,
    reason: str,
    now: dt.datetime,
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> ChatSession:
    """Move a session to `to` if it is in one of allowed_from; record who did it and why."""
    chat = db_session.get(ChatSession, session_id)
    if chat is None:
        raise NotFoundError("会话不存在")
    from_status = chat.status
    if not update_if_status(db_session, ChatSession, session_id, allowed_from, where,
                            status=to, updated_at=now, **values):  # fmt: skip
        raise ConflictError(messages.TICKET_CHANGED)
    db_session.refresh(chat)
    # After a successful conditional update the row is ours until commit: from_status may
    # have been read before a concurrent change, so take it from what the update replaced.
    if from_status not in allowed_from:
        from_status = allowed_from[0]
    db_session.add(
        SessionTransition(
            session_id=session_id,
            from_status=from_status,
            to_status=to,
            actor=actor,
            reason=reason,
            created_at=now,
        )
    )
    return chat


# --- opening hours and the queue ----------------------------------------------------------------


def is_open(settings: Settings, now: dt.datetime) -> bool:
    """Whether agents are at work at this moment (Asia/Shanghai)."""
    local = now.astimezone(SHANGHAI)
    start, end = settings.opening_hours()
    return str(local.isoweekday()) in settings.working_days and start <= local.time() < end


def next_opening(settings: Settings, now: dt.datetime) -> dt.datetime:
    """The next moment agents start work, from now (now itself if they are at work)."""
    if is_open(settings, now):
        return now
    local = now.astimezone(SHANGHAI)
    start, _ = settings.opening_hours()
    for days in range(8):
        day = local.date() + dt.timedelta(days=days)
        opening = dt.datetime.combine(day, start, tzinfo=SHANGHAI)
        if str(day.isoweekday()) in settings.working_days and opening > local:
            return opening
    raise ValueError("no working day in DROPDESK_WORKING_DAYS")


def describe_opening(opening: dt.datetime, now: dt.datetime) -> str:
    """今天 09:00 / 明天 09:00 / 12月7日 09:00, as the merchant reads it (Asia/Shanghai)."""
    local, today = opening.astimezone(SHANGHAI), now.astimezone(SHANGHAI).date()
    days = (local.date() - today).days
    day = {0: "今天", 1: "明天", 2: "后天"}.get(days, f"{local.month}月{local.day}日")
    return f"{day} {local:%H:%M}"


def _open_ticket_join() -> ColumnElement[bool]:
    return and_(Ticket.session_id == ChatSession.id, Ticket.status.in_(OPEN_STATUSES))


def queue_position(*, db_session: Session, session_id: str) -> int | None:
    """1 for the next session an agent will take; None when the session is not queued."""
    row = db_session.execute(
        select(ChatSession.queued_at, Ticket.priority)
        .join(Ticket, _open_ticket_join())
        .where(ChatSession.id == session_id, ChatSession.status == SessionStatus.QUEUED)
    ).first()
    if row is None or row.queued_at is None:
        return None
    ahead = db_session.scalar(
        select(func.count())
        .select_from(ChatSession)
        .join(Ticket, _open_ticket_join())
        .where(
            ChatSession.status == SessionStatus.QUEUED,
            or_(
                Ticket.priority < row.priority,
                and_(Ticket.priority == row.priority, ChatSession.queued_at < row.queued_at),
            ),
        )
    )
    return int(ahead or 0) + 1


def expected_wait_minutes(settings: Settings, position: int) -> int:
    return math.ceil(position * settings.minutes_per_queued_session)


def queue(*, db_session: Session, now: dt.datetime, limit: int = 2000) -> list[QueueEntry]:
    """Sessions waiting for or held by a person: queued first, by priority then wait."""
    # Columns, not entities: a ticket's evidence (transcript included) is never loaded here.
    rows = db_session.execute(
        select(
            ChatSession.id,
            ChatSession.status,
            ChatSession.channel,
            ChatSession.queued_at,
            Ticket.ticket_no,
            Ticket.priority,
            Ticket.amount_fen,
            Ticket.created_at,
            Ticket.first_response_due_at,
            Merchant.merchant_no,
            Merchant.name.label("merchant"),
            Agent.name.label("assignee"),
            DiagnosisRecord.code,
        )
        .join(Ticket, _open_ticket_join())
        .join(Merchant, Merchant.id == ChatSession.merchant_id)
        .outerjoin(Agent, Agent.id == ChatSession.assignee_id)
        .outerjoin(DiagnosisRecord, DiagnosisRecord.id == Ticket.diagnosis_id)
        .where(ChatSession.status.in_((SessionStatus.QUEUED, SessionStatus.AGENT)))
        .order_by(
            (ChatSession.status != SessionStatus.QUEUED), Ticket.priority, ChatSession.queued_at
        )
        .limit(limit)
    ).all()
    return [
        QueueEntry(
            session_id=row.id,
            ticket_no=row.ticket_no,
            status=row.status,
            priority=row.priority,
            waiting_seconds=max(0, int((now - (row.queued_at or row.created_at)).total_seconds())),
            merchant_no=row.merchant_no,
            merchant_name=row.merchant,
            channel=row.channel,
            drop_code=row.code,
            amount=f"{Decimal(row.amount_fen) / 100:.2f}" if row.amount_fen is not None else None,
            assignee=row.assignee,
            first_response_due_at=row.first_response_due_at.astimezone(SHANGHAI),
        )
        for row in rows
    ]


# --- the bot hands over -------------------------------------------------------------------------


def escalate(
    *,
    db_session: Session,
    session_id: str,
    reason: EscalationReason,
    settings: Settings,
    now: dt.datetime,
) -> Ticket:
    """Open (or reopen) the session's ticket and put the session in the queue."""
    chat = db_session.get(ChatSession, session_id)
    if chat is None:
        raise NotFoundError("会话不存在")
    ticket, created = ticket_service.open_ticket(
        db_session=db_session, chat=chat, reason=reason, settings=settings, now=now
    )
    if not created and ticket.status != TicketStatus.NEW:
        ticket_service.move(
            db_session=db_session,
            ticket=ticket,
            to=TicketStatus.NEW,
            actor="bot",
            now=now,
            note=reason,
            assignee_id=None,
        )
    if chat.status == SessionStatus.BOT:
        transition(
            db_session=db_session,
            session_id=chat.id,
            allowed_from=(SessionStatus.BOT,),
            to=SessionStatus.QUEUED,
            actor="bot",
            reason=reason,
            now=now,
            queued_at=now,
            assignee_id=None,
            escalated=True,
        )
    return ticket


# --- agents act ---------------------------------------------------------------------------------


def _held_by(agent: Agent) -> list[ColumnElement[bool]]:
    # A supervisor may act on any agent's session; an agent only on their own.
    return [] if agent.role == AgentRole.SUPERVISOR else [ChatSession.assignee_id == agent.id]


def _open_ticket(db_session: Session, session_id: str) -> Ticket:
    ticket = ticket_service.open_for_session(db_session=db_session, session_id=session_id)
    if ticket is None:
        raise ConflictError(messages.TICKET_CHANGED)
    return ticket


def _change_hands(
    *,
    db_session: Session,
    session_id: str,
    allowed_from: Sequence[SessionStatus],
    to: SessionStatus,
    ticket_to: TicketStatus,
    actor: str,
    reason: str,
    now: dt.datetime,
    assignee_id: int | None,
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> Ticket:
    """Move the session and its open ticket together, to the same assignee."""
    transition(
        db_session=db_session, session_id=session_id, allowed_from=allowed_from, to=to,
        actor=actor, reason=reason, now=now, where=where, assignee_id=assignee_id, **values,
    )  # fmt: skip
    ticket = _open_ticket(db_session, session_id)
    ticket_service.move(
        db_session=db_session, ticket=ticket, to=ticket_to, actor=actor, now=now, note=reason,
        assignee_id=assignee_id,
    )  # fmt: skip
    return ticket


def claim(*, db_session: Session, session_id: str, agent: Agent, now: dt.datetime) -> Ticket:
    """Take a queued session; exactly one of two agents claiming at once succeeds."""
    return _change_hands(
        db_session=db_session, session_id=session_id, allowed_from=(SessionStatus.QUEUED,),
        to=SessionStatus.AGENT, ticket_to=TicketStatus.ASSIGNED, actor=actor_of(agent),
        reason="claim", now=now, assignee_id=agent.id, merchant_waiting_since=now,
    )  # fmt: skip


def release(*, db_session: Session, session_id: str, agent: Agent, now: dt.datetime) -> Ticket:
    """Put a held session back in the queue (it keeps its place by its first queue time)."""
    return _change_hands(
        db_session=db_session, session_id=session_id, allowed_from=(SessionStatus.AGENT,),
        to=SessionStatus.QUEUED, ticket_to=TicketStatus.NEW, actor=actor_of(agent),
        reason="release", now=now, where=_held_by(agent), assignee_id=None,
        merchant_waiting_since=None,
    )  # fmt: skip


def reassign(
    *, db_session: Session, session_id: str, supervisor: Agent, to_agent: str, now: dt.datetime
) -> tuple[Ticket, Agent]:
    """A supervisor gives a queued or held session to a named agent."""
    if supervisor.role != AgentRole.SUPERVISOR:
        raise ForbiddenError("只有主管可以转派")
    target = db_session.scalar(select(Agent).where(Agent.name == to_agent, Agent.active))
    if target is None:
        raise NotFoundError(messages.UNKNOWN_AGENT)
    ticket = _change_hands(
        db_session=db_session, session_id=session_id,
        allowed_from=(SessionStatus.QUEUED, SessionStatus.AGENT), to=SessionStatus.AGENT,
        ticket_to=TicketStatus.ASSIGNED, actor=actor_of(supervisor),
        reason=f"reassign:{target.name}", now=now, assignee_id=target.id,
        merchant_waiting_since=now,
    )  # fmt: skip
    return ticket, target


def hand_back(
    *,
    db_session: Session,
    session_id: str,
    agent: Agent,
    now: dt.datetime,
    reason: str = "handback",
) -> Ticket | None:
    """Give the session back to the bot; an open ticket waits for the merchant."""
    transition(
        db_session=db_session,
        session_id=session_id,
        allowed_from=(SessionStatus.AGENT,),
        to=SessionStatus.BOT,
        actor=actor_of(agent),
        reason=reason,
        now=now,
        where=_held_by(agent),
        merchant_waiting_since=None,
    )
    ticket = ticket_service.open_for_session(db_session=db_session, session_id=session_id)
    if ticket is not None and reason == "handback":
        ticket_service.move(
            db_session=db_session,
            ticket=ticket,
            to=TicketStatus.WAITING_MERCHANT,
            actor=actor_of(agent),
            now=now,
            note="handback",
        )
    return ticket


def resolve(
    *,
    db_session: Session,
    session_id: str,
    agent: Agent,
    resolution: str,
    note: str,
    now: dt.datetime,
) -> Ticket:
    """Resolve the ticket with a code and note, and give the session back to the bot."""
    if resolution not in messages.RESOLUTION_TEXT:
        raise InvalidInputError(f"unknown resolution: {resolution}")
    ticket = _open_ticket(db_session, session_id)
    hand_back(db_session=db_session, session_id=session_id, agent=agent, now=now, reason="resolve")
    ticket_service.move(
        db_session=db_session,
        ticket=ticket,
        to=TicketStatus.RESOLVED,
        actor=actor_of(agent),
        now=now,
        note=note,
        resolution=resolution,
        resolution_note=note,
        resolved_at=now,
    )
    return ticket


def held_session(*, db_session: Session, session_id: str, agent: Agent) -> ChatSession:
    """The session, if this agent (or a supervisor) holds it now."""
    chat = db_session.get(ChatSession, session_id)
    if chat is None:
        raise NotFoundError("会话不存在")
    if chat.status != SessionStatus.AGENT or (
        agent.role != AgentRole.SUPERVISOR and chat.assignee_id != agent.id
    ):
        raise ConflictError(messages.NOT_YOUR_SESSION)
    return chat


def agent_message(
    *, db_session: Session, session_id: str, agent: Agent, text: str, now: dt.datetime
) -> Message:
    """Store an agent's message to the merchant; the first one meets the ticket's SLA."""
    chat = held_session(db_session=db_session, session_id=session_id, agent=agent)
    message = Message(
        session_id=chat.id,
        sender=Sender.AGENT,
        text=mask_pans(text),
        agent_id=agent.id,
        created_at=now,
    )
    db_session.add(message)
    chat.merchant_waiting_since = None
    chat.updated_at = now
    db_session.execute(
        update(Ticket)
        .where(
            Ticket.session_id == chat.id,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.first_response_at.is_(None),
        )
        .values(first_response_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db_session.flush()
    return message


def add_note(
    *, db_session: Session, session_id: str, agent: Agent, text: str, now: dt.datetime
) -> SessionNote:
    """Keep a private note on the session: agents see it, the merchant never does."""
    if db_session.get(ChatSession, session_id) is None:
        raise NotFoundError("会话不存在")
    note = SessionNote(
        session_id=session_id, agent_id=agent.id, text=mask_pans(text), created_at=now
    )
    db_session.add(note)
    db_session.flush()
    return note


def notes(*, db_session: Session, session_id: str) -> list[tuple[SessionNote, str]]:
    rows = db_session.execute(
        select(SessionNote, Agent.name)
        .join(Agent, Agent.id == SessionNote.agent_id)
        .where(SessionNote.session_id == session_id)
        .order_by(SessionNote.id)
    ).all()
    return [(note, name) for note, name in rows]


def transitions(*, db_session: Session, session_id: str) -> list[SessionTransition]:
    return list(
        db_session.scalars(
            select(SessionTransition)
            .where(SessionTransition.session_id == session_id)
            .order_by(SessionTransition.id)
        )
    )


def merchant_waits(*, db_session: Session, chat: ChatSession, now: dt.datetime) -> None:
    """The merchant wrote to an agent: the silence clock starts unless it already runs."""
    if chat.status == SessionStatus.AGENT and chat.merchant_waiting_since is None:
        chat.merchant_waiting_since = now


def silent_sessions(*, db_session: Session, settings: Settings, now: dt.datetime) -> list[str]:
    """Sessions whose agent has left the merchant waiting longer than the silence limit."""
    cutoff = now - dt.timedelta(minutes=settings.agent_silence_minutes)
    return list(
        db_session.scalars(
            select(ChatSession.id).where(
                ChatSession.status == SessionStatus.AGENT,
                ChatSession.merchant_waiting_since <= cutoff,
            )
        )
    )


def requeue_silent(
    *, db_session: Session, session_id: str, settings: Settings, now: dt.datetime
) -> Ticket:
    """Back to the queue after the agent's silence (raises ConflictError if they spoke since)."""
    cutoff = now - dt.timedelta(minutes=settings.agent_silence_minutes)
    return _change_hands(
        db_session=db_session, session_id=session_id, allowed_from=(SessionStatus.AGENT,),
        to=SessionStatus.QUEUED, ticket_to=TicketStatus.NEW, actor="system",
        reason="agent_silent", now=now, where=[ChatSession.merchant_waiting_since <= cutoff],
        assignee_id=None, merchant_waiting_since=None,
    )  # fmt: skip
