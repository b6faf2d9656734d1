"""Chat sessions, their transcript, and the schemas the chat API speaks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class SessionStatus(enum.StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    AGENT = "agent"
    CLOSED = "closed"


class Sender(enum.StrEnum):
    MERCHANT = "merchant"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Delivery(enum.StrEnum):
    """For merchant messages: whether the bot has had them."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ChatSession(Base):
    __tablename__ = "chat_session"
    __table_args__ = (Index("ix_chat_session_status", "status", "queued_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10), default="api")
    status: Mapped[str] = mapped_column(String(10), default=SessionStatus.BOT)
    order_ref: Mapped[str | None] = mapped_column(String(32))
    time_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    time_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    card_last4: Mapped[str | None] = mapped_column(String(4))
    latest_diagnosis_id: Mapped[int | None] = mapped_column(
        ForeignKey("diagnosis_record.id", ondelete="SET NULL", use_alter=True)
    )
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who holds the session while status is "agent"; when it (re)entered the queue.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Since when the merchant waits for the agent's answer (None: the agent spoke last).
    merchant_waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Message(Base):
    __tablename__ = "chat_message"
    __table_args__ = (Index("ix_chat_message_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    delivery: Mapped[str | None] = mapped_column(String(10))
    attachment_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachment.id", ondelete="SET NULL")
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class RequestState(enum.StrEnum):
    """Where a merchant message sent with an idempotency key is."""

    RUNNING = "running"  # accepted and stored; the turn is under way
    LATE = "late"  # the merchant was told the answer is on its way; the turn still runs
    DONE = "done"  # answered: `response` is what the first request returned (or would have)


class ChatRequest(Base):
    """A merchant message sent with an idempotency key (Idempotency-Key or client_message_id).

    The key is unique per session (a session belongs to one merchant): a retry with the same
    key finds this row and gets `response` back, and the turn never runs twice.
    """

    __tablename__ = "chat_request"
    __table_args__ = (UniqueConstraint("session_id", "client_key", name="uq_chat_request_key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    client_key: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_message.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(10), default=RequestState.RUNNING)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SessionCreate(BaseModel):
    channel: str = Field(default="api", pattern=r"^(api|widget|wechat)$")


class SessionCreated(BaseModel):
    session_id: str


CLIENT_KEY_PATTERN = r"^[A-Za-z0-9._:~-]{1,100}$"


class MessageCreate(BaseModel):
    text: str
    # The client's id for this message: a retry with the same id is answered, not run again.
    client_message_id: str | None = Field(default=None, pattern=CLIENT_KEY_PATTERN)


class ButtonRead(BaseModel):
    title: str
    payload: str


class MessageRead(BaseModel):
    id: int
    sender: Sender
    text: str
    agent: str | None = None
    buttons: list[ButtonRead] = Field(default_factory=list)
    delivery: Delivery | None = None
    attachment: str | None = None
    created_at: dt.datetime


class TimeWindowRead(BaseModel):
    start: dt.datetime
    end: dt.datetime


class EvidenceRead(BaseModel):
    order_ref: str | None
    txn_time: TimeWindowRead | None
    amount: str | None
    card_last4: str | None = None


class DiagnosisSummary(BaseModel):
    code: str
    transactions: list[dict[str, Any]]
    reason: str


class SessionState(BaseModel):
    session_id: str
    status: SessionStatus
    evidence: EvidenceRead
    diagnosis: DiagnosisSummary | None
    escalated: bool
    ticket_no: str | None = None
    ticket_status: str | None = None
    queue_position: int | None = None


class ReplyRead(BaseModel):
    text: str
    buttons: list[ButtonRead] = Field(default_factory=list)


class TurnRead(BaseModel):
    messages: list[ReplyRead]
    session: SessionState
