"""One writer at a time per SQLite file in this process, queued on a lock instead of polling.

SQLite has one write lock per file. A connection that finds it taken waits in SQLite's busy
handler, which sleeps and retries in growing steps (up to 100 ms a step) rather than waking
when the lock is freed: at 200 merchants (bench/load_bench.py) the service's turns spent most
of their time in those sleeps, behind write transactions that had long finished.

So the threads of one process queue on a Python lock for the file, taken just before a
transaction's first write (where pysqlite begins the transaction) and handed on the moment it
commits or rolls back. Reads never take it (WAL: they do not block writers or each other). Other
processes (the `dropdesk` CLI, another replica) still meet SQLite's busy handler.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

# A writer waits this long for the lane, then fails as SQLite's busy timeout would.
LANE_TIMEOUT_SECONDS = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

_lanes: dict[str, threading.Lock] = {}
_lanes_guard = threading.Lock()


def _lane_for(database: str) -> threading.Lock:
    with _lanes_guard:
        return _lanes.setdefault(database, threading.Lock())


def _writes(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class LaneConnection(sqlite3.Connection):
    """A pysqlite connection that holds its file's lane from its first write to the end of the
    transaction (pass as ``factory`` to sqlite3.connect)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._lane = _lane_for(str(database))
        self._holding = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or LaneCursor)

    def take_lane(self) -> None:
        if self._holding:
            return
        if not self._lane.acquire(timeout=LANE_TIMEOUT_SECONDS):
            raise sqlite3.OperationalError("database is locked (waited for the write lane)")
        self._holding = True

    def _leave_lane(self) -> None:
        if self._holding:
            self._holding = False
            self._lane.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave_lane()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave_lane()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_lane()


class LaneCursor(sqlite3.Cursor):
    """Takes the connection's lane before a statement that writes."""

    connection: LaneConnection

    def execute(self, sql: str, parameters: Any = (), /) -> LaneCursor:
        if _writes(sql):
            self.connection.take_lane()
        super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> LaneCursor:
        if _writes(sql):
            self.connection.take_lane()
        super().executemany(sql, seq_of_parameters)
        return self
