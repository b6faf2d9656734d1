"""Run Alembic migrations from code (CLI, `make run`, tests).

Migrations run once per release, as a job of their own (`dropdesk migrate`), never in each
replica's start command. Two jobs may still start at once (a retried Kubernetes Job, two
`docker compose up`): on PostgreSQL the upgrade runs under a session-level advisory lock, so the
second waits for the first and then finds the schema at head. SQLite serialises writers itself
and is one machine's file anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from dropdesk.database.core import get_engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# pg_advisory_lock's key for "the DropDesk schema is being migrated" (any fixed bigint).
MIGRATION_LOCK_KEY = 0x64726F7064657331  # b"dropdes1"


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at our migrations and this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(
    url: str, revision: str = "head", on_wait: Callable[[], None] | None = None
) -> None:
    """Migrate the database at url up to revision, one migrator at a time on PostgreSQL.

    on_wait is called once if another migrator holds the lock (the CLI says so).
    """
    engine = get_engine(url)
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(url), revision)
        return
    # The lock lives on its own connection, held (outside any transaction) for the whole
    # upgrade; Alembic migrates on another connection, so its DDL commits as usual.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        got = lock.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        if not got:
            if on_wait is not None:
                on_wait()
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            command.upgrade(alembic_config(url), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})


def current_heads(url: str) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_at_head(url: str) -> bool:
    """Whether the database is at the newest revision our migrations know."""
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    try:
        return current_heads(url) == heads
    except SQLAlchemyError:  # unreachable database: not ready either
        return False
