"""Agents: the people who take escalated sessions over, and how they sign in."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class AgentRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(12), default=AgentRole.AGENT)
    password_hash: Mapped[str] = mapped_column(String(200))
    # sha256 of the API token; the token itself is shown once by `dropdesk agent token`.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bumped on logout: every console cookie signed with an older epoch stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AgentRead(BaseModel):
    id: int
    name: str
    role: AgentRole


class AgentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[\w.\-]+$")
    role: AgentRole = AgentRole.AGENT
    password: str = Field(min_length=8, max_length=200)
