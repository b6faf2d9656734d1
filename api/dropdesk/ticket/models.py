"""Escalation tickets carrying the evidence an agent needs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class EscalationReason(enum.StrEnum):
    MERCHANT_REQUEST = "merchant_request"
    NEEDS_HUMAN = "needs_human"
    FALLBACK = "fallback"
    NOT_SOLVED = "not_solved"


class Ticket(Base):
    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str | None] = mapped_column(String(20), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=TicketStatus.OPEN)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class EscalationCreate(BaseModel):
    reason: EscalationReason = EscalationReason.MERCHANT_REQUEST


class TicketCreated(BaseModel):
    ticket_no: str
    status: str = Field(default="queued")
