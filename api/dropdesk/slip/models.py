"""What the slip reader returns: the fields a photo shows, and how the reading went."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field


class OcrLine(BaseModel):
    """One text line the OCR engine found: its four corners (clockwise from top left)."""

    box: list[tuple[float, float]]
    text: str
    score: float = 1.0


class SlipFields(BaseModel):
    """Transaction details read off a slip, a terminal screen or a bank SMS; None = not seen.

    A card is only ever its last four digits: a full card number on the photo is not kept.
    """

    merchant_no: str | None = Field(default=None, pattern=r"^\d{15}$")
    terminal_no: str | None = Field(default=None, pattern=r"^[0-9A-Z]{8}$")
    reference_no: str | None = Field(default=None, pattern=r"^[0-9A-Z]{12}$")
    trace_no: str | None = Field(default=None, pattern=r"^\d{6}$")
    batch_no: str | None = Field(default=None, pattern=r"^\d{6}$")
    amount: Decimal | None = None
    txn_time: dt.datetime | None = None  # aware, Asia/Shanghai
    card_last4: str | None = Field(default=None, pattern=r"^\d{4}$")
    response_code: str | None = Field(default=None, pattern=r"^[0-9A-Z]{2}$")
    response_text: str | None = None

    def is_empty(self) -> bool:
        """Whether nothing useful was read."""
        return all(value is None for value in self.model_dump().values())


class PhotoKind(StrEnum):
    SLIP = "slip"  # 签购单, merchant or cardholder copy
    SCREEN = "screen"  # the terminal's result screen
    SMS = "sms"  # the cardholder's bank SMS
    UNKNOWN = "unknown"


class ReadStatus(StrEnum):
    READ = "read"  # at least one field
    NOTHING_READ = "nothing_read"  # a picture, but no transaction details on it
    REJECTED = "rejected"  # not an image we open (type, size, corrupt)
    TIMEOUT = "timeout"  # OCR took longer than allowed; the worker was replaced
    FAILED = "failed"  # the worker died (out of memory, crash); it was replaced


class SlipReading(BaseModel):
    """The outcome of reading one photo, with what to tell the merchant."""

    status: ReadStatus
    kind: PhotoKind = PhotoKind.UNKNOWN
    fields: SlipFields = Field(default_factory=SlipFields)
    # Chinese for the merchant: a confirmation to check, or a request to type the details.
    message: str
    # The OCR text lines in reading order, card numbers masked (for an agent, never the bot).
    lines: list[str] = Field(default_factory=list)
    seconds: float = 0.0
