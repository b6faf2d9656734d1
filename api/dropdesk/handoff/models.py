"""Who speaks in a session (bot, queue, agent) and the record of every change of hands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime
from dropdesk.ticket.models import Resolution


class SessionTransition(Base):
    """One change of a session's status, written in the same transaction as the change."""

    __tablename__ = "session_transition"
    __table_args__ = (Index("ix_session_transition_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(60))  # "bot", "system", "merchant", "agent:<name>"
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SessionNote(Base):
    """An agent's private note: its own table, so no merchant-facing query can ever read it."""

    __tablename__ = "session_note"
    __table_args__ = (Index("ix_session_note_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ResolveBody(BaseModel):
    resolution: Resolution
    note: str = Field(default="", max_length=2000)


class ReassignBody(BaseModel):
    agent: str = Field(min_length=1, max_length=40)


class QueueEntry(BaseModel):
    session_id: str
    ticket_no: str | None
    status: str
    priority: int
    waiting_seconds: int
    merchant_no: str
    merchant_name: str
    channel: str
    drop_code: str | None
    amount: str | None
    assignee: str | None
    first_response_due_at: dt.datetime | None


class TransitionRead(BaseModel):
    from_status: str
    to_status: str
    actor: str
    reason: str
    created_at: dt.datetime


class NoteRead(BaseModel):
    id: int
    agent: str
    text: str
    created_at: dt.datetime


class SessionChange(BaseModel):
    """The answer to an agent's action on a session."""

    session_id: str
    status: str
    ticket_no: str | None = None
    ticket_status: str | None = None
    assignee: str | None = None


class SessionDetail(BaseModel):
    """Everything an agent sees about one session."""

    session: Any
    merchant: dict[str, str]
    channel: str
    assignee: str | None
    transcript: list[Any]
    notes: list[NoteRead]
    diagnoses: list[Any]
    ticket: Any | None
    transitions: list[TransitionRead]
    # Why the merchant's own channel no longer reaches them (WeChat's 48-hour window, say).
    unreachable: str | None = None
