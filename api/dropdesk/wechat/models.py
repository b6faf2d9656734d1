"""Followers of the official account, bind codes, claimed pushes, deliveries, the token."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class Follower(Base):
    """One OpenID: whom it is bound to, its one open chat session, whether it can be reached."""

    __tablename__ = "wechat_follower"
    __table_args__ = (Index("ix_wechat_follower_session", "session_id"),)

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("chat_session.id", ondelete="SET NULL")
    )
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Buttons of the last reply, answerable by their number ("1", "2", …).
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    # 45015 / 45047 / unsubscribe: why customer-service messages no longer reach the follower.
    unreachable_reason: Mapped[str | None] = mapped_column(String(40))
    bind_failures: Mapped[int] = mapped_column(Integer, default=0)
    bind_locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class BindCode(Base):
    """A one-time code tying an OpenID to a merchant; only its hash is kept."""

    __tablename__ = "wechat_bind_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    used_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InboundState(enum.StrEnum):
    RUNNING = "running"
    PASSIVE = "passive"  # answered in the HTTP reply (kept in `reply`)
    ASYNC = "async"  # answered through the customer-service API


class InboundClaim(Base):
    """A push claimed once across replicas (database backend of the dedupe)."""

    __tablename__ = "wechat_inbound"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    reply: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DeliveryStatus(enum.StrEnum):
    PASSIVE = "passive"  # in the HTTP reply to the follower's push
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"  # 45015 / 45047: recorded, not retried blindly


class Outbound(Base):
    """What happened to a customer-service message (one row per API call)."""

    __tablename__ = "wechat_outbound"
    __table_args__ = (Index("ix_wechat_outbound_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    openid: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(32))
    message_ids: Mapped[list[int] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """The shared access_token (database backend of the token cache), one row per appid."""

    __tablename__ = "wechat_token"

    appid: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(600))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A refresh lease: one process at a time asks WeChat for a new token.
    refreshing_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BindCodeIssued(BaseModel):
    code: str
    expires_at: dt.datetime
    valid_minutes: int  # what the merchant is told ("10 分钟内有效"), free of client clock skew
