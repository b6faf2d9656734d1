"""Escalation: open a ticket that carries the evidence, and queue the session for an agent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.attachment import service as attachment_service
from dropdesk.card import mask_pans
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import ChatSession, SessionStatus
from dropdesk.merchant.models import Merchant
from dropdesk.terminal import service as terminal_service
from dropdesk.terminal.models import Terminal
from dropdesk.ticket.models import EscalationReason, Ticket, TicketStatus
from dropdesk.timezone import SHANGHAI


def open_ticket(*, db_session: Session, chat: ChatSession, reason: EscalationReason) -> Ticket:
    """Open (or return the already open) ticket for a session and queue it for an agent."""
    existing = db_session.scalar(
        select(Ticket).where(Ticket.session_id == chat.id, Ticket.status != TicketStatus.CLOSED)
    )
    if existing is not None:
        return existing
    now = dt.datetime.now(dt.UTC)
    ticket = Ticket(
        session_id=chat.id,
        merchant_id=chat.merchant_id,
        reason=reason,
        status=TicketStatus.OPEN,
        evidence=evidence(db_session=db_session, chat=chat),
        created_at=now,
    )
    db_session.add(ticket)
    db_session.flush()
    ticket.ticket_no = f"T{now.astimezone(SHANGHAI):%Y%m%d}{ticket.id:05d}"
    chat.status = SessionStatus.QUEUED
    chat.escalated = True
    chat.updated_at = now
    return ticket


def evidence(*, db_session: Session, chat: ChatSession) -> dict[str, Any]:
    """Everything an agent needs, with card numbers masked even in free text."""
    merchant = db_session.get_one(Merchant, chat.merchant_id)
    state = conversation_service.state(db_session=db_session, chat=chat)
    diagnosis = chat.diagnosis or {}
    terminal_nos = {t.get("terminal_no") for t in diagnosis.get("transactions", [])}
    terminals = db_session.scalars(
        select(Terminal).where(Terminal.merchant_id == merchant.id)
    ).all()
    return {
        "merchant": {"merchant_no": merchant.merchant_no, "name": merchant.name},
        "merchant_said": state.evidence.model_dump(mode="json"),
        "card_last4": chat.card_last4,
        "diagnosis": {
            "code": diagnosis.get("code"),
            "reason": diagnosis.get("reason"),
            "next_steps": diagnosis.get("next_steps", []),
        },
        "candidates": diagnosis.get("transactions", []),
        "terminals": [
            terminal_service.health(t).model_dump(mode="json")
            for t in terminals
            if not terminal_nos - {None} or t.terminal_no in terminal_nos
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
