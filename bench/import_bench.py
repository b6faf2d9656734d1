"""Import throughput: 100,000-row CSV into SQLite, beside a bare executemany baseline."""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import write_csv

from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.transaction.bulk import import_file

ROWS = 100_000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = write_csv(Path(tmp) / "export.csv", ROWS, merchants=200)
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)

        started = time.perf_counter()
        with session_scope(url) as db_session:
            outcome = import_file(db_session=db_session, path=csv_path)
        done = time.perf_counter()
        assert not outcome.errors and outcome.result and outcome.result.inserted == ROWS

        again = time.perf_counter()
        with session_scope(url) as db_session:
            import_file(db_session=db_session, path=csv_path)
        reimport = time.perf_counter() - again

        # Baseline: the same rows, unvalidated, straight into a bare table with sqlite3.
        conn = sqlite3.connect(f"{tmp}/baseline.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (" + ",".join(f"c{i}" for i in range(17)) + ")")
        base_start = time.perf_counter()
        import csv as csv_module

        with csv_path.open(encoding="utf-8") as handle:
            reader = csv_module.reader(handle)
            next(reader)
            conn.executemany(f"INSERT INTO t VALUES ({','.join('?' * 17)})", reader)
        conn.commit()
        baseline = time.perf_counter() - base_start

    total = done - started
    print(f"import {ROWS:,} rows into SQLite")
    print(f"  total            {total:6.2f} s  = {ROWS / total:,.0f} rows/s (target >= 20,000)")
    print(f"  re-import        {reimport:6.2f} s  = {ROWS / reimport:,.0f} rows/s (all updates)")
    print(
        f"  baseline         {baseline:6.2f} s  = {ROWS / baseline:,.0f} rows/s "
        "(raw csv -> sqlite3 executemany, no validation, no indexes)"
    )
    print(f"  ratio            {total / baseline:6.2f}x the baseline time")


if __name__ == "__main__":
    main()
