"""Merchants: who owns transactions, tickets and sessions."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base


class Merchant(Base):
    __tablename__ = "merchant"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_no: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # "T1" = T+1 working days, "D0" = same calendar day; None uses the default setting.
    settlement_cycle: Mapped[str | None] = mapped_column(String(4), default=None)
    settlement_account_masked: Mapped[str | None] = mapped_column(String(40), default=None)
