"""Turn what the OCR worker answered into a SlipReading with the merchant's message."""

from __future__ import annotations

import datetime as dt

from dropdesk.slip import messages
from dropdesk.slip.fields import extract, masked_lines
from dropdesk.slip.models import OcrLine, PhotoKind, ReadStatus, SlipFields, SlipReading
from dropdesk.slip.worker import RawLine
from dropdesk.timezone import SHANGHAI

_REFUSALS = {
    ReadStatus.NOTHING_READ: messages.NOTHING_READ,
    ReadStatus.REJECTED: messages.REJECTED,
    ReadStatus.TIMEOUT: messages.TIMEOUT,
    ReadStatus.FAILED: messages.FAILED,
}


def interpret(raw: list[RawLine], *, now: dt.datetime, seconds: float) -> SlipReading:
    """Fields, photo kind and message from the worker's lines."""
    lines = [OcrLine(box=box, text=text, score=score) for box, text, score in raw]
    fields, kind = extract(lines, now=now)
    if fields.is_empty():
        return SlipReading(status=ReadStatus.NOTHING_READ, kind=kind,
                           message=messages.NOTHING_READ, lines=masked_lines(lines),
                           seconds=seconds)  # fmt: skip
    return SlipReading(status=ReadStatus.READ, kind=kind, fields=fields,
                       message=messages.CONFIRM.format(summary=summary(fields)),
                       lines=masked_lines(lines), seconds=seconds)  # fmt: skip


def refusal(status: ReadStatus, *, seconds: float = 0.0) -> SlipReading:
    """A reading that found nothing, with the request to type the details."""
    return SlipReading(status=status, kind=PhotoKind.UNKNOWN, message=_REFUSALS[status],
                       seconds=seconds)  # fmt: skip


def summary(fields: SlipFields) -> str:
    """The fields in the merchant's words: 参考号 …，¥…，时间 …"""
    parts: list[str] = []
    if fields.reference_no:
        parts.append(f"参考号 {fields.reference_no}")
    elif fields.trace_no:
        parts.append(f"凭证号 {fields.trace_no}")
    if fields.amount is not None:
        parts.append(f"¥{fields.amount:,.2f}")
    if fields.txn_time is not None:
        parts.append(f"时间 {fields.txn_time.astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
    if fields.card_last4:
        parts.append(f"卡号尾号 {fields.card_last4}")
    if fields.response_text:
        code = f"（应答码 {fields.response_code}）" if fields.response_code else ""
        parts.append(f"{fields.response_text}{code}")
    if not parts:  # only identifiers the merchant rarely quotes
        for name in ("terminal_no", "merchant_no", "batch_no"):
            value = getattr(fields, name)
            if value:
                parts.append(f"{messages.FIELD_NAMES[name]} {value}")
    return "，".join(parts)
