"""The SQLite write lane: this process's writers queue on a lock, never in SQLite's busy sleeps."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from dropdesk.database import sqlite_lane
from dropdesk.database.core import get_engine


def _engine(tmp_path: Path) -> tuple[Engine, threading.Lock]:
    path = tmp_path / "lane.db"
    engine = get_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    return engine, sqlite_lane._lane_for(str(path))


def test_a_second_writer_waits_for_the_first_to_commit_not_for_sqlite(tmp_path: Path) -> None:
    engine, lane = _engine(tmp_path)
    first_wrote, outcome = threading.Event(), dict[str, object]()

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'first')"))
            first_wrote.set()
            time.sleep(0.3)  # holds SQLite's write lock

    def second() -> None:
        first_wrote.wait(5)
        try:
            with engine.begin() as conn:
                # SQLite itself would fail at once: without the lane this writer gets
                # "database is locked" while the first holds the lock.
                conn.execute(text("PRAGMA busy_timeout=0"))
                conn.execute(text("INSERT INTO t (id, v) VALUES (2, 'second')"))
            outcome["ok"] = True
        except Exception as exc:  # reported by the assertion below
            outcome["error"] = repr(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcome == {"ok": True}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == [
            "first",
            "second",
        ]
    assert not lane.locked()


def test_reads_never_wait_and_a_failed_write_hands_the_lane_on(tmp_path: Path) -> None:
    engine, lane = _engine(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'kept')"))
    with engine.connect() as writer:
        writer.execute(text("INSERT INTO t (id, v) VALUES (2, 'pending')"))
        assert lane.locked()
        with engine.connect() as reader:  # WAL: a reader sees the committed rows at once
            began = time.monotonic()
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
            assert time.monotonic() - began < 0.2
        writer.rollback()
        assert not lane.locked()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
    assert not lane.locked()
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t (id, v) VALUES (3, 'left open')"))
        assert lane.locked()
    # Given back to the pool without a commit: rolled back, and the lane is free.
    assert not lane.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == ["kept"]
