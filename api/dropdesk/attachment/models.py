"""Evidence a merchant attaches to a chat session (a slip photo, a screenshot)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_session", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to the attachment folder, so it can move between machines; "db:..." when the
    # bytes are in attachment_blob (DROPDESK_ATTACHMENT_STORE=database).
    storage_key: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # What the slip reader saw (dropdesk.slip.models.SlipReading as JSON); None until read.
    reading: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class AttachmentBlob(Base):
    """An attachment's bytes kept in the database, which every service replica reads."""

    __tablename__ = "attachment_blob"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AttachmentRead(BaseModel):
    id: int
    url: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
