"""Canned replies: {商户名} {参考号} {金额} {工单号} filled from the evidence and the ticket."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from dropdesk import messages
from dropdesk.handoff.models import SessionDetail

PLACEHOLDERS = ("商户名", "参考号", "金额", "工单号")
_PLACEHOLDER = re.compile("\\{(" + "|".join(PLACEHOLDERS) + ")\\}")


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


def fill(template: str, values: Mapping[str, str | None]) -> str:
    """Put each known placeholder's value in; one without a value stays for the agent to fill.

    Values are inserted once, never re-read, so a value that looks like a placeholder (or
    holds braces) comes out as it is.
    """
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1)) or m.group(0), template)


def placeholder_values(detail: SessionDetail) -> dict[str, str | None]:
    """What the placeholders stand for in one session.

    The reference and the amount come from the one transaction the latest diagnosis found,
    if it found exactly one (the store's own record); otherwise from what the merchant said,
    now or when the ticket was opened.
    """
    said: dict[str, Any] = {}
    if detail.ticket is not None:
        said = detail.ticket.evidence.get("merchant_said") or {}
    evidence = detail.session.evidence
    found: dict[str, Any] = {}
    if detail.diagnoses and len(detail.diagnoses[-1].transactions) == 1:
        found = detail.diagnoses[-1].transactions[0]
    reference = found.get("ref_no") or evidence.order_ref or said.get("order_ref")
    amount = found.get("amount") or evidence.amount or said.get("amount")
    return {
        "商户名": detail.merchant.get("name"),
        "参考号": str(reference) if reference else None,
        "金额": _yuan(amount),
        "工单号": detail.ticket.ticket_no if detail.ticket is not None else None,
    }


def replies(detail: SessionDetail) -> list[CannedReply]:
    """Every canned reply, filled for this session."""
    values = placeholder_values(detail)
    return [CannedReply(title, fill(t, values)) for title, t in messages.CANNED_REPLIES.items()]


def _yuan(value: object) -> str | None:
    if value in (None, ""):
        return None
    try:
        return f"{Decimal(str(value)):.2f}"
    except InvalidOperation:
        return None
