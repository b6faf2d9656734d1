"""Build transaction rows for tests through the same validation as an import."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from dropdesk.timezone import SHANGHAI
from dropdesk.transaction.importer import COLUMNS, ImportRow, validate
from dropdesk.transaction.service import upsert_rows

MERCHANT_A = "865310054119001"
MERCHANT_B = "865310054119002"
CARD_1 = "6222021234567890128"
CARD_2 = "6217001210012345670"
_trace = itertools.count(100)


def shanghai(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def row(**overrides: Any) -> dict[str, str]:
    """A valid approved, completed, unsettled sale unless overridden."""
    n = next(_trace)
    base = {
        "merchant_no": MERCHANT_A, "terminal_no": "T0000001", "txn_type": "sale",
        "order_no": "", "trace_no": f"{n:06d}", "ref_no": f"{n:012d}", "batch_no": "000001",
        "auth_code": f"A{n:05d}", "card_no": CARD_1, "amount": "320.50",
        "txn_time": "2026-11-25T15:05:00", "response_code": "00",
        "terminal_status": "completed", "reversal_status": "none",
        "settlement_status": "unsettled", "settlement_date": "", "original_ref_no": "",
    }  # fmt: skip
    for key, value in overrides.items():
        base[key] = value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value)
    assert set(base) == set(COLUMNS)
    return base


def store(db_session: Session, *raws: dict[str, str]) -> list[ImportRow]:
    rows = []
    for line, raw in enumerate(raws, start=2):
        parsed, errors = validate(line, raw)
        assert parsed is not None, errors
        rows.append(parsed)
    upsert_rows(db_session=db_session, rows=rows)
    db_session.commit()
    return rows
