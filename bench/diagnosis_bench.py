"""Diagnosis latency on a store of 1,000,000 transactions: PostgreSQL, and SQLite beside it."""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select, text
from synth import merchant_no, rows

from dropdesk.config import Settings
from dropdesk.database.core import get_engine, get_session_factory, session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.diagnosis.models import DiagnosisQuery
from dropdesk.diagnosis.service import diagnose
from dropdesk.timezone import UTC8
from dropdesk.transaction.importer import COLUMNS, validate_record
from dropdesk.transaction.models import Transaction
from dropdesk.transaction.service import StoreWriter

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
MERCHANTS = 2000
QUERIES = 2000
PG = os.environ.get(
    "DROPDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def load(url: str) -> float:
    """Validate and write the synthetic store; return seconds taken."""
    started = time.perf_counter()
    with session_scope(url) as db_session:
        writer = StoreWriter(db_session)
        batch = []
        for line, raw in enumerate(rows(ROWS, MERCHANTS), start=2):
            row, errors = validate_record(line, [raw[c] for c in COLUMNS])
            assert row is not None, errors
            batch.append(row)
            if len(batch) == 20_000:
                writer.write(batch)
                batch = []
        writer.write(batch)
        writer.finish()
    if url.startswith("postgresql"):
        with get_engine(url).connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE txn"))
    return time.perf_counter() - started


def queries(url: str) -> list[DiagnosisQuery]:
    """Realistic lookups: by each identifier kind, by vague time + amount, and misses."""
    rng = random.Random(7)
    with session_scope(url) as db_session:
        ids = db_session.scalars(select(Transaction.id)).all()
        sample = db_session.scalars(
            select(Transaction).where(Transaction.id.in_(rng.sample(ids, QUERIES)))
        ).all()
        merchants = dict(db_session.execute(text("SELECT id, merchant_no FROM merchant")).all())
    out = []
    for i, txn in enumerate(sample):
        m = merchants[txn.merchant_id]
        kind = i % 10
        if kind < 5:
            ref = [txn.ref_no, txn.trace_no, txn.order_no, txn.auth_code, txn.ref_no][kind]
            out.append(DiagnosisQuery(merchant_no=m, order_ref=ref))
        elif kind < 9:
            local = txn.txn_time.astimezone(UTC8)
            start = local.replace(minute=0, second=0)
            out.append(DiagnosisQuery(merchant_no=m, time_from=start,
                                      time_to=start + dt.timedelta(minutes=59),
                                      amount=Decimal(txn.amount_fen) / 100))  # fmt: skip
        else:
            out.append(DiagnosisQuery(merchant_no=merchant_no(rng.randrange(MERCHANTS)),
                                      order_ref="999999999999"))  # fmt: skip
    return out


def measure(url: str, label: str) -> None:
    load_s = load(url)
    settings = Settings(database_url=url)
    qs = queries(url)
    factory = get_session_factory(url)
    now = dt.datetime(2026, 11, 25, 12, tzinfo=UTC8)
    timings, baseline = [], []
    with factory() as db_session:
        for q in qs[:100]:  # warm caches and the connection pool
            diagnose(db_session=db_session, query=q, settings=settings, now=now)
        ids = db_session.scalars(select(Transaction.id).limit(QUERIES)).all()
        for q, txn_id in zip(qs, ids, strict=False):
            t0 = time.perf_counter()
            diagnose(db_session=db_session, query=q, settings=settings, now=now)
            t1 = time.perf_counter()
            db_session.expunge_all()
            db_session.scalars(select(Transaction).where(Transaction.id == txn_id)).one()
            t2 = time.perf_counter()
            timings.append((t1 - t0) * 1000)
            baseline.append((t2 - t1) * 1000)
            db_session.expunge_all()
    p = statistics.quantiles(timings, n=100)
    b = statistics.quantiles(baseline, n=100)
    print(f"{label}: {ROWS:,} transactions, {MERCHANTS:,} merchants (loaded in {load_s:.0f} s)")
    print(
        f"  diagnosis   p50 {p[49]:5.2f} ms  p95 {p[94]:5.2f} ms  p99 {p[98]:5.2f} ms"
        f"  over {len(timings)} queries"
    )
    print(f"  baseline    p50 {b[49]:5.2f} ms  p95 {b[94]:5.2f} ms  (one ORM primary-key fetch)")
    print(f"  ratio       p95 {p[94] / b[94]:5.1f}x the baseline")


def main() -> None:
    schema = f"dd_bench_{uuid.uuid4().hex[:8]}"
    admin = get_engine(PG)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); skipping it")
    else:
        url = f"{PG}?options=-csearch_path%3D{schema}"
        try:
            upgrade(url)
            measure(url, "PostgreSQL (target p95 <= 5 ms)")
        finally:
            get_engine(url).dispose()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        measure(url, "SQLite")


if __name__ == "__main__":
    main()
