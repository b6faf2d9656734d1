"""POS terminals and their health as last reported."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime


class Terminal(Base):
    __tablename__ = "terminal"
    __table_args__ = (UniqueConstraint("merchant_id", "terminal_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    terminal_no: Mapped[str] = mapped_column(String(8))
    model: Mapped[str | None] = mapped_column(String(40), default=None)
    software_version: Mapped[str | None] = mapped_column(String(20), default=None)
    last_online_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    network_type: Mapped[str | None] = mapped_column(String(10), default=None)
