"""Tickets: open one per escalation, move it through its statuses, and report progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.agent.models import Agent
from dropdesk.attachment import service as attachment_service
from dropdesk.card import mask_pans
from dropdesk.config import Settings
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import ChatSession, Message, Sender
from dropdesk.database.core import update_if_status
from dropdesk.diagnosis.models import DiagnosisRecord, DropCode
from dropdesk.errors import ConflictError, NotFoundError
from dropdesk.merchant.models import Merchant
from dropdesk.terminal import service as terminal_service
from dropdesk.terminal.models import Terminal
from dropdesk.ticket.models import (
    OPEN_STATUSES,
    RATING_PAYLOAD,
    EscalationReason,
    Ticket,
    TicketEvent,
    TicketEventRead,
    TicketProgress,
    TicketRead,
    TicketStatus,
)
from dropdesk.timezone import SHANGHAI

# Codes that leave money one-sided or a customer charged twice come first.
_URGENT = {DropCode.REVERSAL_FAILED, DropCode.DUPLICATE_CHARGE, DropCode.SETTLEMENT_DELAYED}
LARGE_AMOUNT_FEN = 100_000  # ¥1,000 and over raises the priority by one


def priority(code: str | None, amount_fen: int | None) -> int:
    """1 (high) to 3 (low), from the drop code and the amount."""
    level = 1 if code in _URGENT else 2 if code else 3
    if amount_fen is not None and amount_fen >= LARGE_AMOUNT_FEN:
        level -= 1
    return max(1, level)


def _next_ticket_no(db_session: Session, now: dt.datetime) -> str:
    day = f"{now.astimezone(SHANGHAI):%Y%m%d}"
    # One statement on both backends: concurrent escalations never get the same number.
    last = db_session.execute(
        text(
            "INSERT INTO ticket_counter (day, last) VALUES (:day, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = ticket_counter.last + 1 RETURNING last"
        ),
        {"day": day},
    ).scalar_one()
    return f"DD-{day}-{last:04d}"


def open_for_session(*, db_session: Session, session_id: str) -> Ticket | None:
    """The session's open ticket, if any (there is at most one)."""
    return db_session.scalar(
        select(Ticket).where(Ticket.session_id == session_id, Ticket.status.in_(OPEN_STATUSES))
    )


def open_ticket(
    *,
    db_session: Session,
    chat: ChatSession,
    reason: EscalationReason,
    settings: Settings,
    now: dt.datetime,
) -> tuple[Ticket, bool]:
    """Open a ticket for the session's latest diagnosis; return (ticket, created)."""
    existing = open_for_session(db_session=db_session, session_id=chat.id)
    if existing is not None:
        return existing, False
    record = (
        db_session.get(DiagnosisRecord, chat.latest_diagnosis_id)
        if chat.latest_diagnosis_id
        else None
    )
    amount_fen = _amount_fen(record) if record else chat.amount_fen
    ticket = Ticket(
        ticket_no=_next_ticket_no(db_session, now),
        session_id=chat.id,
        merchant_id=chat.merchant_id,
        diagnosis_id=record.id if record else None,
        reason=reason,
        status=TicketStatus.NEW,
        priority=priority(record.code if record else None, amount_fen),
        amount_fen=amount_fen,
        evidence=evidence(db_session=db_session, chat=chat, record=record),
        first_response_due_at=now + dt.timedelta(minutes=settings.first_response_minutes),
        created_at=now,
        updated_at=now,
    )
    db_session.add(ticket)
    db_session.flush()
    _event(db_session, ticket, None, TicketStatus.NEW, "bot", reason, now)
    return ticket, True


def _amount_fen(record: DiagnosisRecord) -> int | None:
    amount = record.query.get("amount")
    if amount:
        return int(Decimal(str(amount)) * 100)
    for txn in record.candidates:
        if txn.get("amount"):
            return int(Decimal(str(txn["amount"])) * 100)
    return None


def _event(
    db_session: Session,
    ticket: Ticket,
    from_status: str | None,
    to_status: str,
    actor: str,
    note: str,
    now: dt.datetime,
) -> None:
    db_session.add(
        TicketEvent(
            ticket_id=ticket.id,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            note=note,
            created_at=now,
        )
    )


def move(
    *,
    db_session: Session,
    ticket: Ticket,
    to: TicketStatus,
    actor: str,
    now: dt.datetime,
    note: str = "",
    allowed_from: tuple[str, ...] = OPEN_STATUSES,
    **values: Any,
) -> None:
    """Move a ticket to a status if it is in one of allowed_from (one conditional update)."""
    from_status = ticket.status
    if not update_if_status(db_session, Ticket, ticket.id, allowed_from,
                            status=to, updated_at=now, **values):  # fmt: skip
        raise ConflictError(messages.TICKET_CHANGED)
    db_session.refresh(ticket)
    _event(db_session, ticket, from_status, to, actor, note, now)


def evidence(
    *, db_session: Session, chat: ChatSession, record: DiagnosisRecord | None
) -> dict[str, Any]:
    """Everything an agent needs, from the diagnosis escalated from; cards masked in free text."""
    merchant = db_session.get_one(Merchant, chat.merchant_id)
    state = conversation_service.state(db_session=db_session, chat=chat)
    candidates = record.candidates if record else []
    terminal_nos = {t.get("terminal_no") for t in candidates} - {None}
    terminals = db_session.scalars(
        select(Terminal).where(Terminal.merchant_id == merchant.id)
    ).all()
    return {
        "merchant": {"merchant_no": merchant.merchant_no, "name": merchant.name},
        "merchant_said": record.query if record else state.evidence.model_dump(mode="json"),
        "diagnosis": {
            "id": record.id if record else None,
            "code": record.code if record else None,
            "reason": record.reason if record else None,
            "next_steps": record.next_steps if record else [],
        },
        "candidates": candidates,
        "terminals": [
            terminal_service.health(t).model_dump(mode="json")
            for t in terminals
            if not terminal_nos or t.terminal_no in terminal_nos
        ],
        "attachments": [
            {
                "id": a.id,
                "url": attachment_service.attachment_url(chat.id, a.id),
                "content_type": a.content_type,
                "sha256": a.sha256,
            }
            for a in attachment_service.for_session(db_session=db_session, session_id=chat.id)
        ],
        "transcript": [
            {
                "sender": m.sender,
                "text": mask_pans(m.text),
                "at": m.created_at.astimezone(SHANGHAI).isoformat(),
            }
            for m in conversation_service.transcript(db_session=db_session, session_id=chat.id)
        ],
    }


def latest_for_session(*, db_session: Session, session_id: str) -> Ticket | None:
    return db_session.scalar(
        select(Ticket).where(Ticket.session_id == session_id).order_by(Ticket.id.desc()).limit(1)
    )


def _agent_name(db_session: Session, agent_id: int | None) -> str | None:
    return db_session.scalar(select(Agent.name).where(Agent.id == agent_id)) if agent_id else None


def history(*, db_session: Session, ticket: Ticket) -> list[TicketEventRead]:
    events = db_session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    )
    return [
        TicketEventRead(
            from_status=e.from_status,
            to_status=e.to_status,
            actor=e.actor,
            note=e.note,
            created_at=e.created_at.astimezone(SHANGHAI),
        )
        for e in events
    ]


def ticket_read(*, db_session: Session, ticket: Ticket) -> TicketRead:
    """The whole ticket for agents: status, SLA, history, evidence."""
    return TicketRead(
        ticket_no=ticket.ticket_no,
        status=TicketStatus(ticket.status),
        priority=ticket.priority,
        reason=ticket.reason,
        assignee=_agent_name(db_session, ticket.assignee_id),
        diagnosis_id=ticket.diagnosis_id,
        first_response_due_at=ticket.first_response_due_at.astimezone(SHANGHAI),
        first_response_at=ticket.first_response_at.astimezone(SHANGHAI)
        if ticket.first_response_at
        else None,
        resolution=ticket.resolution,
        resolution_note=ticket.resolution_note,
        rating=ticket.rating,
        rating_comment=ticket.rating_comment,
        created_at=ticket.created_at.astimezone(SHANGHAI),
        history=history(db_session=db_session, ticket=ticket),
        evidence=ticket.evidence,
    )


def progress_for_merchant(
    *, db_session: Session, merchant_id: int, ticket_no: str | None, limit: int = 3
) -> list[TicketProgress]:
    """A merchant's own tickets, newest first; a number that is not theirs finds nothing."""
    query = select(Ticket).where(Ticket.merchant_id == merchant_id)
    if ticket_no:
        query = query.where(func.upper(Ticket.ticket_no) == ticket_no.strip().upper())
    tickets = db_session.scalars(query.order_by(Ticket.id.desc()).limit(limit)).all()
    return [_progress(db_session, t) for t in tickets]


def _progress(db_session: Session, ticket: Ticket) -> TicketProgress:
    last = db_session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    status = TicketStatus(ticket.status)
    position = None
    if status == TicketStatus.NEW:
        from dropdesk.handoff.service import queue_position

        position = queue_position(db_session=db_session, session_id=ticket.session_id)
    return TicketProgress(
        ticket_no=ticket.ticket_no,
        status=status,
        assignee=_agent_name(db_session, ticket.assignee_id),
        created_at=ticket.created_at.astimezone(SHANGHAI),
        updated_at=ticket.updated_at.astimezone(SHANGHAI),
        last_update=messages.TICKET_EVENT_TEXT.get(last.to_status, last.to_status) if last else "",
        queue_position=position,
    )


def rate(*, db_session: Session, session_id: str, rating: int, now: dt.datetime) -> Ticket:
    """Store the merchant's 1-5 rating on the session's resolved ticket and close it."""
    ticket = db_session.scalar(
        select(Ticket)
        .where(Ticket.session_id == session_id, Ticket.status == TicketStatus.RESOLVED)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    if ticket is None:
        raise NotFoundError(messages.NOTHING_TO_RATE)
    move(
        db_session=db_session,
        ticket=ticket,
        to=TicketStatus.CLOSED,
        actor="merchant",
        now=now,
        note=f"rating {rating}",
        allowed_from=(TicketStatus.RESOLVED,),
        rating=rating,
        comment_requested_at=now,
    )
    return ticket


def take_comment(*, db_session: Session, session_id: str, text: str, now: dt.datetime,
                 window: dt.timedelta) -> Ticket | None:  # fmt: skip
    """Keep text as the comment on the session's just-rated ticket, if it is the one awaited.

    It is awaited when it is the merchant's first message since the rating tap, within the
    window, and the ticket rated last has no comment yet; one conditional update, so two
    messages at once give one comment. Call before the message itself is stored.
    """
    ticket = db_session.scalar(
        select(Ticket)
        .where(Ticket.session_id == session_id, Ticket.comment_requested_at.is_not(None))
        .order_by(Ticket.comment_requested_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if ticket is None or ticket.comment_requested_at is None or ticket.rating_comment:
        return None
    asked = ticket.comment_requested_at
    if asked < now - window:
        return None
    # The rating tap is a merchant message too: anything said since then ends the wait.
    last_said = db_session.scalar(
        select(Message.text)
        .where(Message.session_id == session_id, Message.sender == Sender.MERCHANT)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if last_said is None or not RATING_PAYLOAD.match(last_said):
        return None
    taken = db_session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.rating_comment.is_(None),
               Ticket.comment_requested_at == asked)
        .values(rating_comment=text, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    db_session.refresh(ticket)
    _event(db_session, ticket, ticket.status, ticket.status, "merchant", "comment", now)
    return ticket
