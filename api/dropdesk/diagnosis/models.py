"""Diagnosis vocabulary and the schemas the diagnosis is exchanged in."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dropdesk.database.core import Base, UTCDateTime
from dropdesk.transaction.models import ReversalStatus, SettlementStatus, TerminalStatus, TxnType

Amount = Annotated[
    Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")
]


class DropCode(enum.StrEnum):
    DECLINED = "declined"
    REVERSED = "reversed"
    NOT_FOUND = "not_found"
    APPROVED_NOT_PRINTED = "approved_not_printed"
    SETTLEMENT_PENDING = "settlement_pending"
    SETTLED = "settled"
    SETTLEMENT_DELAYED = "settlement_delayed"
    DUPLICATE_CHARGE = "duplicate_charge"
    REVERSAL_FAILED = "reversal_failed"
    AMBIGUOUS = "ambiguous"


# Codes the bot never settles alone: a person must look, whatever the transaction says.
ALWAYS_HUMAN = frozenset({DropCode.SETTLEMENT_DELAYED, DropCode.REVERSAL_FAILED})


class NextStep(enum.StrEnum):
    EXPLAIN_RESPONSE_CODE = "explain_response_code"
    CHARGE_AGAIN = "charge_again"
    TELL_CUSTOMER_REFUND_TIMING = "tell_customer_refund_timing"
    RECHECK_DETAILS = "recheck_details"
    CHECK_NETWORK = "check_network"
    DO_NOT_CHARGE_AGAIN = "do_not_charge_again"
    OFFER_ESLIP = "offer_eslip"
    WAIT_FOR_SETTLEMENT = "wait_for_settlement"
    CHECK_BANK_ACCOUNT = "check_bank_account"
    VOID_EXTRA_TODAY = "void_extra_today"
    REFUND_EXTRA = "refund_extra"
    ESCALATE = "escalate"
    ASK_CARD_LAST4 = "ask_card_last4"
    ASK_TIME = "ask_time"
    ASK_AMOUNT = "ask_amount"
    ASK_REFERENCE = "ask_reference"
    ASK_TERMINAL = "ask_terminal"
    ASK_SCREEN = "ask_screen"


class ScreenShown(enum.StrEnum):
    """What the terminal showed the merchant: it completed the sale, or it did not."""

    SUCCESS = "success"
    FAILURE = "failure"


class DiagnosisQuery(BaseModel):
    """What the merchant told us; a time is a window [time_from, time_to]."""

    model_config = ConfigDict(str_strip_whitespace=True)

    merchant_no: str = Field(pattern=r"^\d{15}$")
    order_ref: str | None = Field(default=None, min_length=4, max_length=32)
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None
    amount: Decimal | None = Field(default=None, gt=0, lt=10_000_000, decimal_places=2)
    card_last4: str | None = Field(default=None, pattern=r"^\d{4}$")
    # The terminal number, or its last digits as the merchant reads them off the sticker.
    terminal_no: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{2,8}$")
    screen: ScreenShown | None = None

    @model_validator(mode="after")
    def _check(self) -> DiagnosisQuery:
        if self.time_from is not None and self.time_to is None:
            self.time_to = self.time_from
        if self.time_to is not None and self.time_from is None:
            self.time_from = self.time_to
        for value in (self.time_from, self.time_to):
            if value is not None and value.tzinfo is None:
                raise ValueError("times must carry a UTC offset")
        if self.time_from and self.time_to and self.time_from > self.time_to:
            raise ValueError("time_from is after time_to")
        if not self.order_ref and self.time_from is None:
            raise ValueError("give an order reference or a time")
        return self


class TransactionRead(BaseModel):
    id: int
    terminal_no: str
    txn_type: TxnType
    order_no: str | None
    trace_no: str | None
    ref_no: str | None
    batch_no: str | None
    auth_code: str | None
    card_masked: str | None
    amount: Amount
    txn_time: dt.datetime
    response_code: str | None
    terminal_status: TerminalStatus
    reversal_status: ReversalStatus
    settlement_status: SettlementStatus
    settlement_date: dt.date | None
    original_ref_no: str | None


class TerminalHealth(BaseModel):
    terminal_no: str
    model: str | None
    software_version: str | None
    last_online_at: dt.datetime | None
    network_type: str | None


class DiagnosisRead(BaseModel):
    code: DropCode
    reason: str
    transactions: list[TransactionRead]
    next_steps: list[NextStep]
    needs_human: bool
    details: dict[str, str | None] = Field(default_factory=dict)
    terminals: list[TerminalHealth] = Field(default_factory=list)


class DiagnosisRecord(Base):
    """One diagnosis made in a chat session: what was asked, what was found, and when."""

    __tablename__ = "diagnosis_record"
    __table_args__ = (Index("ix_diagnosis_record_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_session.id", ondelete="CASCADE"))
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    code: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    next_steps: Mapped[list[str]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    terminals: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    needs_human: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Facts of the moment it was made, written with it (the dashboard counts them): the
    # reference it was asked with, the merchant's messages in the session up to then, and the
    # first candidate's amount and terminal (what the JSON above says, as columns).
    order_ref: Mapped[str | None] = mapped_column(String(32))
    merchant_turns: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    terminal_no: Mapped[str | None] = mapped_column(String(8))


class DiagnosisRecordRead(BaseModel):
    id: int
    query: dict[str, Any]
    code: DropCode
    reason: str
    transactions: list[dict[str, Any]]
    next_steps: list[str]
    needs_human: bool
    terminals: list[dict[str, Any]]
    created_at: dt.datetime
