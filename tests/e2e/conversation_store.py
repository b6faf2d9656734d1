"""A transaction store written as relative times (for conversation suites): load it as of now.

`when` is "-25m", "-2h" or "-1d 19:05"; `settlement_date` is "" or "-6d". Loading replaces
the listed merchants' transactions, so a suite can reload before every conversation.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete
from sqlalchemy.orm import Session

from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.timezone import SHANGHAI
from dropdesk.transaction import service as transaction_service
from dropdesk.transaction.importer import COLUMNS, ImportRow, validate
from dropdesk.transaction.models import SettlementBatch, Transaction

_AGO = re.compile(r"^-(\d+)([mh])$")
_DAY = re.compile(r"^-(\d+)d(?: (\d{1,2}):(\d{2}))?$")


def moment(text: str, now: dt.datetime) -> dt.datetime:
    """A relative time of the store file, as a Shanghai time."""
    now = now.astimezone(SHANGHAI).replace(second=0, microsecond=0)
    if match := _AGO.match(text.strip()):
        amount, unit = int(match.group(1)), match.group(2)
        return now - dt.timedelta(minutes=amount if unit == "m" else amount * 60)
    if match := _DAY.match(text.strip()):
        day = now.date() - dt.timedelta(days=int(match.group(1)))
        clock = dt.time(int(match.group(2) or 0), int(match.group(3) or 0))
        return dt.datetime.combine(day, clock, tzinfo=SHANGHAI)
    raise ValueError(f"not a relative time: {text!r}")


def read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "transactions" not in data:
        raise ValueError(f"{path}: no transactions")
    return data


def load(*, db_session: Session, store: dict[str, Any], now: dt.datetime) -> int:
    """Replace the store's merchants' transactions with its rows as of now; return the count."""
    rows: list[ImportRow] = []
    for line, raw in enumerate(store["transactions"], start=1):
        values = {key: str(raw.get(key) or "") for key in COLUMNS}
        values["txn_time"] = moment(str(raw["when"]), now).isoformat()
        settled = str(raw.get("settlement_date") or "")
        values["settlement_date"] = moment(settled, now).date().isoformat() if settled else ""
        row, errors = validate(line, values)
        if row is None:
            raise ValueError(f"store row {line} is invalid: {errors}")
        rows.append(row)
    merchants = store.get("merchants") or []
    ids = merchant_service.ensure_merchants(
        db_session=db_session, merchant_nos=[str(m["merchant_no"]) for m in merchants]
    )
    for spec in merchants:
        merchant = db_session.get_one(Merchant, ids[str(spec["merchant_no"])])
        merchant.name = str(spec.get("name") or "")
        merchant.settlement_cycle = spec.get("settlement_cycle")
        db_session.execute(delete(Transaction).where(Transaction.merchant_id == merchant.id))
        db_session.execute(
            delete(SettlementBatch).where(SettlementBatch.merchant_id == merchant.id)
        )
    db_session.flush()
    transaction_service.upsert_rows(db_session=db_session, rows=rows)
    return len(rows)
