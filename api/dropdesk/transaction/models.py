"""Transactions as the acquiring host recorded them, and their settlement batches."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dropdesk.database.core import Base, UTCDateTime
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal


class TxnType(enum.StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"


class TerminalStatus(enum.StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"


class ReversalStatus(enum.StrEnum):
    NONE = "none"
    REVERSED = "reversed"
    FAILED = "failed"


class SettlementStatus(enum.StrEnum):
    UNSETTLED = "unsettled"
    SETTLED = "settled"
    FAILED = "failed"
    HELD = "held"


class Transaction(Base):
    __tablename__ = "txn"
    __table_args__ = (
        UniqueConstraint("merchant_id", "natural_key"),
        Index("ix_txn_merchant_order", "merchant_id", "order_no"),
        Index("ix_txn_merchant_trace", "merchant_id", "trace_no"),
        Index("ix_txn_merchant_ref", "merchant_id", "ref_no"),
        Index("ix_txn_merchant_auth", "merchant_id", "auth_code"),
        Index("ix_txn_merchant_amount_time", "merchant_id", "amount_fen", "txn_time"),
        Index(
            "ix_txn_original",
            "original_id",
            sqlite_where=text("original_id IS NOT NULL"),
            postgresql_where=text("original_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    # Identity of a row across re-imports: fields the terminal fixes at the time of sale.
    natural_key: Mapped[str] = mapped_column(String(120))
    txn_type: Mapped[str] = mapped_column(String(6))
    order_no: Mapped[str | None] = mapped_column(String(32))
    trace_no: Mapped[str | None] = mapped_column(String(6))
    ref_no: Mapped[str | None] = mapped_column(String(12))
    batch_no: Mapped[str | None] = mapped_column(String(6))
    auth_code: Mapped[str | None] = mapped_column(String(6))
    card_bin: Mapped[str | None] = mapped_column(String(6))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    txn_time: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    response_code: Mapped[str | None] = mapped_column(String(2))
    terminal_status: Mapped[str] = mapped_column(String(10))
    reversal_status: Mapped[str] = mapped_column(String(10), default=ReversalStatus.NONE)
    settlement_status: Mapped[str] = mapped_column(String(10), default=SettlementStatus.UNSETTLED)
    settlement_date: Mapped[dt.date | None] = mapped_column(Date)
    original_ref_no: Mapped[str | None] = mapped_column(String(12))
    original_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("txn.id", ondelete="SET NULL"),
    )

    # Set on a sale once a void or refund is linked to it, so lookups skip the children query.
    has_children: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # Loaded with the row: a diagnosis always shows the terminal's health and merchant policy.
    terminal: Mapped[Terminal] = relationship(lazy="joined", innerjoin=True)
    merchant: Mapped[Merchant] = relationship(lazy="joined", innerjoin=True)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_fen) / 100

    @property
    def card_masked(self) -> str | None:
        if not self.card_bin or not self.card_last4:
            return None
        return f"{self.card_bin}******{self.card_last4}"


class SettlementBatch(Base):
    __tablename__ = "settlement_batch"
    __table_args__ = (UniqueConstraint("terminal_id", "batch_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id", ondelete="CASCADE"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminal.id", ondelete="CASCADE"))
    batch_no: Mapped[str] = mapped_column(String(6))
    txn_count: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    settlement_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=SettlementStatus.UNSETTLED)
