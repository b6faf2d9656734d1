"""Transaction store: idempotent bulk upsert and the two lookups the bot makes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from dropdesk.merchant import service as merchant_service
from dropdesk.merchant.models import Merchant
from dropdesk.transaction.importer import ImportRow, paused_gc
from dropdesk.transaction.models import SettlementBatch, SettlementStatus, Transaction, TxnType

_MUTABLE = (
    "ref_no", "batch_no", "auth_code", "card_bin", "card_last4", "amount_fen", "response_code",
    "terminal_status", "reversal_status", "settlement_status", "settlement_date",
    "original_ref_no",
)  # fmt: skip
CHUNK = 2000


@dataclass(frozen=True)
class ImportResult:
    rows: int
    inserted: int
    updated_or_unchanged: int


def _insert(db_session: Session) -> Any:
    dialect = db_session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert_rows(*, db_session: Session, rows: Sequence[ImportRow]) -> ImportResult:
    """Insert or update rows by natural key, then link voids/refunds and refresh batches."""
    writer = StoreWriter(db_session)
    writer.write(rows)
    return writer.finish()


class StoreWriter:
    """Write validated rows in chunks inside the caller's transaction, then tidy up once."""

    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session
        self.before = db_session.scalar(select(func.count()).select_from(Transaction)) or 0
        self.sqlite = db_session.get_bind().dialect.name == "sqlite"
        self.sql = _upsert_sql("?" if self.sqlite else "%s")
        self.merchants: dict[str, int] = {}
        self.terminals: dict[tuple[int, str], int] = {}
        self.rows = 0

    def write(self, rows: Sequence[ImportRow]) -> None:
        """Upsert one chunk of rows."""
        with paused_gc():
            self._ensure_owners(rows)
            for start in range(0, len(rows), CHUNK):
                self.db_session.connection().exec_driver_sql(
                    self.sql, [self._params(r) for r in rows[start : start + CHUNK]]
                )
        self.rows += len(rows)

    def _ensure_owners(self, rows: Sequence[ImportRow]) -> None:
        new_merchants = {r.merchant_no for r in rows} - self.merchants.keys()
        if new_merchants:
            self.merchants |= merchant_service.ensure_merchants(
                db_session=self.db_session, merchant_nos=new_merchants
            )
        pairs = {(self.merchants[r.merchant_no], r.terminal_no) for r in rows}
        if pairs - self.terminals.keys():
            self.terminals |= merchant_service.ensure_terminals(
                db_session=self.db_session, pairs=pairs - self.terminals.keys()
            )

    def _params(self, r: ImportRow) -> tuple[Any, ...]:
        merchant_id = self.merchants[r.merchant_no]
        terminal_id = self.terminals[(merchant_id, r.terminal_no)]
        if self.sqlite:
            # Bound as UTCDateTime and Date store them on SQLite: epoch microseconds, ISO text.
            day = r.settlement_date.isoformat() if r.settlement_date else None
            return (merchant_id, terminal_id, *r[3:13], r.txn_epoch_us, *r[14:18], day,
                    r.original_ref_no)  # fmt: skip
        utc = r.txn_time.astimezone(dt.UTC).replace(tzinfo=None)
        return (merchant_id, terminal_id, *r[3:13], utc, *r[14:18], r.settlement_date,
                r.original_ref_no)  # fmt: skip

    def finish(self) -> ImportResult:
        """Link voids/refunds to their sales, refresh batches, and count what changed."""
        _link_originals(self.db_session, set(self.merchants.values()))
        _refresh_batches(self.db_session, set(self.terminals.values()))
        after = self.db_session.scalar(select(func.count()).select_from(Transaction)) or 0
        inserted = after - self.before
        return ImportResult(rows=self.rows, inserted=inserted,
                            updated_or_unchanged=self.rows - inserted)  # fmt: skip


_COLUMNS = (
    "merchant_id", "terminal_id", "natural_key", "txn_type", "order_no", "trace_no", "ref_no",
    "batch_no", "auth_code", "card_bin", "card_last4", "amount_fen", "txn_time",
    "response_code", "terminal_status", "reversal_status", "settlement_status",
    "settlement_date", "original_ref_no",
)  # fmt: skip


def _upsert_sql(placeholder: str) -> str:
    # Same statement on SQLite and PostgreSQL; raw driver executemany is ~2x faster than Core.
    updates = ", ".join(f"{c} = excluded.{c}" for c in _MUTABLE)
    return (
        f"INSERT INTO txn ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([placeholder] * len(_COLUMNS))}) "
        f"ON CONFLICT (merchant_id, natural_key) DO UPDATE SET {updates}"
    )


def _link_originals(db_session: Session, merchant_ids: set[int]) -> None:
    original = aliased(Transaction)
    match = (
        select(original.id)
        .where(
            original.merchant_id == Transaction.merchant_id,
            original.ref_no == Transaction.original_ref_no,
            original.txn_type == TxnType.SALE,
        )
        .limit(1)
        .scalar_subquery()
    )
    db_session.execute(
        update(Transaction)
        .where(
            Transaction.merchant_id.in_(merchant_ids),
            Transaction.original_ref_no.is_not(None),
            Transaction.original_id.is_(None),
        )
        .values(original_id=match)
        .execution_options(synchronize_session=False)
    )
    linked = select(Transaction.original_id).where(
        Transaction.merchant_id.in_(merchant_ids), Transaction.original_id.is_not(None)
    )
    db_session.execute(
        update(Transaction)
        .where(Transaction.id.in_(linked), Transaction.has_children.is_(False))
        .values(has_children=True)
        .execution_options(synchronize_session=False)
    )


def _refresh_batches(db_session: Session, terminal_ids: set[int]) -> None:
    t = Transaction
    status = case(
        (
            func.sum(case((t.settlement_status == SettlementStatus.FAILED, 1), else_=0)) > 0,
            SettlementStatus.FAILED.value,
        ),
        (
            func.sum(case((t.settlement_status == SettlementStatus.HELD, 1), else_=0)) > 0,
            SettlementStatus.HELD.value,
        ),
        (
            func.min(t.settlement_status) == func.max(t.settlement_status),
            func.min(t.settlement_status),
        ),
        else_=SettlementStatus.UNSETTLED.value,
    )
    approved = (t.response_code == "00") & (t.reversal_status != "reversed")
    query = (
        select(
            t.merchant_id, t.terminal_id, t.batch_no,
            func.count().label("txn_count"),
            func.coalesce(func.sum(case((approved, t.amount_fen), else_=0)), 0).label("total"),
            func.max(t.settlement_date).label("settlement_date"),
            status.label("status"),
        )
        .where(t.terminal_id.in_(terminal_ids), t.batch_no.is_not(None))
        .group_by(t.merchant_id, t.terminal_id, t.batch_no)
    )  # fmt: skip
    values = [
        {"merchant_id": m, "terminal_id": term, "batch_no": b, "txn_count": n, "total_fen": total,
         "settlement_date": day, "status": st}
        for m, term, b, n, total, day, st in db_session.execute(query)
    ]  # fmt: skip
    if not values:
        return
    stmt = _insert(db_session)(SettlementBatch.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["terminal_id", "batch_no"],
        set_={k: stmt.excluded[k] for k in ("txn_count", "total_fen", "settlement_date", "status")},
    )
    db_session.connection().execute(stmt, values)


def _merchant_id(merchant_no: str) -> Any:
    # Resolved inside the lookup: one round trip instead of two.
    return select(Merchant.id).where(Merchant.merchant_no == merchant_no).scalar_subquery()


def find_by_reference(
    *, db_session: Session, merchant_no: str, reference: str, limit: int = 20
) -> list[Transaction]:
    """Transactions of one merchant whose order, trace, reference no. or auth code match."""
    ref = reference.strip().upper()
    return list(
        db_session.scalars(
            select(Transaction)
            .where(
                Transaction.merchant_id == _merchant_id(merchant_no),
                or_(
                    Transaction.order_no == ref,
                    Transaction.trace_no == ref,
                    Transaction.ref_no == ref,
                    Transaction.auth_code == ref,
                ),
            )
            .order_by(Transaction.txn_time)
            .limit(limit)
        )
    )


def find_in_window(
    *,
    db_session: Session,
    merchant_no: str,
    start: dt.datetime,
    end: dt.datetime,
    amount_fen: int | None = None,
    limit: int = 20,
) -> list[Transaction]:
    """Transactions of one merchant in [start, end), of this amount when given."""
    query = select(Transaction).where(
        Transaction.merchant_id == _merchant_id(merchant_no),
        Transaction.txn_time >= start,
        Transaction.txn_time < end,
    )
    if amount_fen is not None:
        query = query.where(Transaction.amount_fen == amount_fen)
    return list(db_session.scalars(query.order_by(Transaction.txn_time).limit(limit)))


def children_of(*, db_session: Session, original_ids: Sequence[int]) -> list[Transaction]:
    """Voids and refunds linked to these sales."""
    if not original_ids:
        return []
    return list(
        db_session.scalars(select(Transaction).where(Transaction.original_id.in_(original_ids)))
    )


def find_same_card_nearby(
    *, db_session: Session, txn: Transaction, window: dt.timedelta
) -> list[Transaction]:
    """Other sales of the same card and amount within window of txn: duplicate suspects."""
    if not txn.card_last4:
        return []
    return list(
        db_session.scalars(
            select(Transaction).where(
                Transaction.merchant_id == txn.merchant_id,
                Transaction.amount_fen == txn.amount_fen,
                Transaction.txn_time >= txn.txn_time - window,
                Transaction.txn_time <= txn.txn_time + window,
                Transaction.card_bin == txn.card_bin,
                Transaction.card_last4 == txn.card_last4,
                Transaction.txn_type == TxnType.SALE,
                Transaction.id != txn.id,
            )
        )
    )
