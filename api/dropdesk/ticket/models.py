"""Escalation tickets carrying the evidence an agent needs, and their history."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class TicketStatus(enum.StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    WAITING_MERCHANT = "waiting_merchant"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.WAITING_MERCHANT)
_OPEN_SQL = "status IN ('new', 'assigned', 'waiting_merchant')"


# The payload of the 1-5 rating buttons sent when an agent resolves a ticket.
RATING_PAYLOAD = re.compile(r"^/rate_service\{\"rating\":\s*\"?([1-5])\"?\}$")
# How long after a rating the merchant's next message is taken as its comment.
COMMENT_WINDOW = dt.timedelta(minutes=30)


class EscalationReason(enum.StrEnum):
    MERCHANT_REQUEST = "merchant_request"
    NEEDS_HUMAN = "needs_human"
    FALLBACK = "fallback"
    NOT_SOLVED = "not_solved"


class Resolution(enum.StrEnum):
    EXPLAINED = "explained"
    REFUND_ARRANGED = "refund_arranged"
    TRANSACTION_CONFIRMED = "transaction_confirmed"
    SETTLEMENT_RELEASED = "settlement_released"
    NO_ISSUE_FOUND = "no_issue_found"
    OTHER = "other"


class Ticket(Base):
    __tablename__ = "ticket"
    # One open ticket per session, whatever races: a partial unique index on both backends.
    __table_args__ = (
        Index(
            "uq_ticket_open_session",
            "session_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index("ix_ticket_merchant", "merchant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(20), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    diagnosis_id: Mapped[int | None] = mapped_column(
        ForeignKey("diagnosis_record.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=TicketStatus.NEW)
    priority: Mapped[int] = mapped_column(Integer, default=3)  # 1 high, 2 normal, 3 low
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # the amount escalated with
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_response_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(String(30))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    # After a rating the merchant may leave a comment: their next message, within a window.
    comment_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TicketEvent(Base):
    """One change of a ticket's status (or assignee), with who did it and why."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TicketCounter(Base):
    """The last ticket number handed out on a business day (DD-20261203-0007)."""

    __tablename__ = "ticket_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class EscalationCreate(BaseModel):
    reason: EscalationReason = EscalationReason.MERCHANT_REQUEST


class TicketCreated(BaseModel):
    """What the bot tells the merchant on escalation.

    queue_position is 1 for the next session a person takes, and 0 when a person already has
    the conversation (it was escalated again while an agent held it).
    """

    ticket_no: str
    status: TicketStatus
    priority: int
    queue_position: int = Field(ge=0)
    expected_wait_minutes: int = Field(ge=0)
    offline: bool
    next_opening: dt.datetime | None = None


class TicketProgress(BaseModel):
    """A merchant's view of one of their tickets."""

    ticket_no: str
    status: TicketStatus
    assignee: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    last_update: str
    queue_position: int | None = None


class TicketEventRead(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    note: str
    created_at: dt.datetime


class TicketRead(BaseModel):
    ticket_no: str
    status: TicketStatus
    priority: int
    reason: str
    assignee: str | None
    diagnosis_id: int | None
    first_response_due_at: dt.datetime
    first_response_at: dt.datetime | None
    resolution: str | None
    resolution_note: str | None
    rating: int | None
    rating_comment: str | None = None
    created_at: dt.datetime
    history: list[TicketEventRead]
    evidence: dict[str, Any]
