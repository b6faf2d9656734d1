"""Engine, session factory and the declarative base shared by every domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine
from starlette.concurrency import run_in_threadpool

from dropdesk.database import slots
from dropdesk.database.sqlite_lane import LaneConnection

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes, kept in UTC: integer microseconds on SQLite, timestamp elsewhere.

    Integers make SQLite range scans and bulk imports cheap; PostgreSQL keeps a real type.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        if dialect.name == "sqlite":
            return epoch_us(value)
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _EPOCH + dt.timedelta(microseconds=value)
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(value: dt.datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime (SQLite storage)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A writer waits its turn this long. Under overload (two Rasa processes and 200 merchants on
    # 2 cores, bench/load_bench.py) a thread holding the lock was descheduled for more than the
    # 5 s this used to be, and merchants got 503s: now they wait, as with PostgreSQL.
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch many index pages
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """Return the shared engine for a database URL, creating SQLite folders as needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # More connections than database slots (database.slots): a slot never waits for one.
        # Writers of this process queue on the file's lane (database.sqlite_lane).
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "factory": LaneConnection},
                               pool_size=20, max_overflow=20)  # fmt: skip
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def get_session_factory(url: str) -> sessionmaker[Session]:
    """Return a session factory bound to the engine for a URL."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = get_session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def run_in_session(url: str, work: Callable[[Session], T]) -> T:
    """Run work in its own session (committed on success) on a worker thread, for async code."""

    def run() -> T:
        with session_scope(url) as db_session:
            return work(db_session)

    async with slots.slot():  # waited for here, on the loop: see database.slots
        return await run_in_threadpool(run)


def update_if_status(
    db_session: Session,
    model: Any,
    row_id: object,
    allowed_from: Sequence[str],
    where: Sequence[ColumnElement[bool]] = (),
    **values: Any,
) -> bool:
    """One conditional UPDATE of a row whose `status` is one of allowed_from; True if it hit.

    Whoever changes a row's status first wins: a second writer's precondition no longer holds
    and it updates nothing, whatever the isolation level.
    """
    done = db_session.execute(
        sql_update(model)
        .where(model.id == row_id, model.status.in_(allowed_from), *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]
