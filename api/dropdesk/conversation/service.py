"""Chat sessions and transcripts: plain functions over a database session."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dropdesk.attachment.service import attachment_url
from dropdesk.conversation.models import (
    ChatRequest,
    ChatSession,
    Delivery,
    DiagnosisSummary,
    EvidenceRead,
    Message,
    MessageRead,
    RequestState,
    Sender,
    SessionState,
    SessionStatus,
    TimeWindowRead,
)
from dropdesk.diagnosis.models import (
    DiagnosisRead,
    DiagnosisRecord,
    DiagnosisRecordRead,
    DropCode,
)
from dropdesk.errors import NotFoundError
from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.ticket.models import Ticket
from dropdesk.timezone import SHANGHAI, parse_business_time


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create(*, db_session: Session, merchant_no: str, channel: str) -> ChatSession:
    """Open a chat session for a merchant."""
    merchant = merchant_service.get_by_no(db_session=db_session, merchant_no=merchant_no)
    if merchant is None:
        raise NotFoundError("merchant not found")
    now = _now()
    chat = ChatSession(
        id=secrets.token_urlsafe(16),
        merchant_id=merchant.id,
        channel=channel,
        status=SessionStatus.BOT,
        escalated=False,
        created_at=now,
        updated_at=now,
    )
    db_session.add(chat)
    db_session.flush()
    return chat


def get_for_merchant(*, db_session: Session, session_id: str, merchant_no: str) -> ChatSession:
    """Return a session only if it belongs to this merchant; otherwise it does not exist."""
    chat = db_session.scalar(
        select(ChatSession)
        .join(Merchant, Merchant.id == ChatSession.merchant_id)
        .where(ChatSession.id == session_id, Merchant.merchant_no == merchant_no)
    )
    if chat is None:
        raise NotFoundError("会话不存在")
    return chat


def get(*, db_session: Session, session_id: str) -> ChatSession:
    """Return a session by id (internal callers only)."""
    chat = db_session.get(ChatSession, session_id)
    if chat is None:
        raise NotFoundError("session not found")
    return chat


def add_message(
    *,
    db_session: Session,
    chat: ChatSession,
    sender: Sender,
    text: str,
    buttons: Sequence[dict[str, str]] | None = None,
    delivery: Delivery | None = None,
    attachment_id: int | None = None,
) -> Message:
    """Append a message to the transcript."""
    message = Message(
        session_id=chat.id,
        sender=sender,
        text=text,
        buttons=list(buttons) if buttons else None,
        delivery=delivery,
        attachment_id=attachment_id,
        created_at=_now(),
    )
    chat.updated_at = message.created_at
    db_session.add(message)
    db_session.flush()
    return message


def set_delivery(*, db_session: Session, message_id: int, delivery: Delivery) -> None:
    """Record whether the bot received a merchant message."""
    message = db_session.get_one(Message, message_id)
    message.delivery = delivery


def transcript(*, db_session: Session, session_id: str, after_id: int = 0) -> list[Message]:
    """Every message of a session in order, optionally only those after an id."""
    return list(
        db_session.scalars(
            select(Message)
            .where(Message.session_id == session_id, Message.id > after_id)
            .order_by(Message.id)
        )
    )


def message_read(message: Message, agent_name: str | None = None) -> MessageRead:
    """Render a stored message for the API (an agent's message carries the agent's name)."""
    return MessageRead.model_validate(
        {
            "id": message.id,
            "sender": message.sender,
            "text": message.text,
            "buttons": message.buttons or [],
            "delivery": message.delivery,
            "agent": agent_name,
            "attachment": attachment_url(message.session_id, message.attachment_id)
            if message.attachment_id is not None
            else None,
            "created_at": message.created_at,
        }
    )


def record_slots(*, db_session: Session, chat: ChatSession, slots: dict[str, Any]) -> None:
    """Replace the session's evidence with what the bot holds now (order ref, time, amount, card).

    The bot's slots are the one source of what the merchant said about the current drop; the
    evidence is replaced as a whole after every turn, so a second drop never keeps a value
    of the first (a slot the bot cleared clears the evidence too).
    """
    ref = slots.get("order_ref")
    chat.order_ref = ref[:32] if isinstance(ref, str) and ref and ref != "unknown" else None
    chat.time_from = chat.time_to = None
    window = slots.get("txn_time")
    if isinstance(window, str) and "/" in window:
        with contextlib.suppress(ValueError):
            chat.time_from, chat.time_to = (parse_business_time(p) for p in window.split("/", 1))
    chat.amount_fen = None
    amount = slots.get("amount")
    if isinstance(amount, str | int | float) and amount != "":
        with contextlib.suppress(InvalidOperation):
            chat.amount_fen = int(Decimal(str(amount)) * 100)
    last4 = slots.get("card_last4")
    chat.card_last4 = (
        last4 if isinstance(last4, str) and len(last4) == 4 and last4.isdigit() else None
    )


def record_diagnosis(*, db_session: Session, chat: ChatSession, query: dict[str, Any],
                     diagnosis: DiagnosisRead, now: dt.datetime) -> DiagnosisRecord:  # fmt: skip
    """Keep a diagnosis as its own record; the session points at its latest one.

    The record also keeps what the dashboard counts of it, fixed now in the same transaction:
    the order reference asked with, and how many messages the merchant had sent by then.
    """
    body = diagnosis.model_dump(mode="json")
    ref = query.get("order_ref")
    first = body["transactions"][0] if body["transactions"] else {}
    turns = db_session.scalar(
        select(func.count()).where(
            Message.session_id == chat.id,
            Message.sender == Sender.MERCHANT,
            Message.created_at <= now,
        )
    )
    record = DiagnosisRecord(
        session_id=chat.id,
        query=query,
        code=body["code"],
        reason=body["reason"],
        candidates=body["transactions"],
        next_steps=body["next_steps"],
        details=body["details"],
        terminals=body["terminals"],
        needs_human=body["needs_human"],
        created_at=now,
        order_ref=str(ref)[:32] if ref else None,
        merchant_turns=turns or 0,
        amount_fen=int(Decimal(first["amount"]) * 100) if first.get("amount") else None,
        terminal_no=first.get("terminal_no"),
    )
    db_session.add(record)
    db_session.flush()
    chat.latest_diagnosis_id = record.id
    chat.updated_at = now
    return record


def diagnoses(*, db_session: Session, session_id: str) -> list[DiagnosisRecordRead]:
    """Every diagnosis of a session, oldest first (agents see them all)."""
    records = db_session.scalars(
        select(DiagnosisRecord)
        .where(DiagnosisRecord.session_id == session_id)
        .order_by(DiagnosisRecord.id)
    )
    return [diagnosis_read(r) for r in records]


def diagnosis_read(record: DiagnosisRecord) -> DiagnosisRecordRead:
    return DiagnosisRecordRead(
        id=record.id,
        query=record.query,
        code=DropCode(record.code),
        reason=record.reason,
        transactions=record.candidates,
        next_steps=record.next_steps,
        needs_human=record.needs_human,
        terminals=record.terminals,
        created_at=record.created_at.astimezone(SHANGHAI),
    )


def state(*, db_session: Session, chat: ChatSession) -> SessionState:
    """The session as the chat API shows it."""
    window = None
    if chat.time_from and chat.time_to:
        window = TimeWindowRead(
            start=chat.time_from.astimezone(SHANGHAI), end=chat.time_to.astimezone(SHANGHAI)
        )
    amount = f"{Decimal(chat.amount_fen) / 100:.2f}" if chat.amount_fen is not None else None
    diagnosis = None
    record = (
        db_session.get(DiagnosisRecord, chat.latest_diagnosis_id)
        if chat.latest_diagnosis_id
        else None
    )
    if record is not None:
        diagnosis = DiagnosisSummary(
            code=record.code, transactions=record.candidates, reason=record.reason
        )
    ticket = db_session.execute(
        select(Ticket.ticket_no, Ticket.status)
        .where(Ticket.session_id == chat.id)
        .order_by(Ticket.id.desc())
        .limit(1)
    ).first()
    position = None
    if chat.status == SessionStatus.QUEUED:
        from dropdesk.handoff.service import queue_position

        position = queue_position(db_session=db_session, session_id=chat.id)
    return SessionState(
        session_id=chat.id,
        status=SessionStatus(chat.status),
        evidence=EvidenceRead(
            order_ref=chat.order_ref, txn_time=window, amount=amount, card_last4=chat.card_last4
        ),
        diagnosis=diagnosis,
        escalated=chat.escalated,
        ticket_no=ticket.ticket_no if ticket else None,
        ticket_status=ticket.status if ticket else None,
        queue_position=position,
    )


def purge_requests(*, db_session: Session, before: dt.datetime) -> int:
    """Forget idempotency keys answered before `before`; a turn still running is kept."""
    done = db_session.execute(
        delete(ChatRequest)
        .where(ChatRequest.updated_at < before, ChatRequest.state != RequestState.RUNNING)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]
