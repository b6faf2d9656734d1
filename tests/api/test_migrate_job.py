"""`dropdesk migrate` is a job of its own, safe when two start at once; replicas never migrate.

Real processes against the local PostgreSQL, each test on a throwaway database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from dropdesk.config import Settings
from dropdesk.database.migrate import MIGRATION_LOCK_KEY, alembic_config, current_heads
from dropdesk.main import create_app
from tests.api.conftest import PG_BASE, _postgres_reachable

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty PostgreSQL database of its own, dropped afterwards."""
    if not _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"dd_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_BASE.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from dropdesk.database.core import get_engine

        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DROPDESK_DATABASE_URL": url, "DROPDESK_ENV": "local"}
    return subprocess.Popen(
        [sys.executable, "-m", "dropdesk.cli", "migrate", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_two_migrate_jobs_at_once_both_succeed_and_migrate_once(fresh_database: str) -> None:
    # A replica's init container waits on --check: not yet (3), then yes (0).
    assert _migrate(fresh_database, "--check").wait(timeout=60) == 3
    # Without the lock both would create the same tables in parallel transactions and
    # one of them would fail on a duplicate table.
    jobs = [_migrate(fresh_database) for _ in range(2)]
    outputs = [job.communicate(timeout=120)[0] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    assert all("database is up to date" in out for out in outputs)
    assert current_heads(fresh_database) == set(HEAD)
    assert {"attachment", "chat_session", "txn"} <= _tables(fresh_database)
    assert _migrate(fresh_database, "--check").wait(timeout=60) == 0


def test_a_second_migrate_waits_for_the_lock_holder(fresh_database: str) -> None:
    holder = create_engine(fresh_database, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            job = _migrate(fresh_database)
            time.sleep(4)  # long enough to import, connect and migrate, were it not waiting
            assert job.poll() is None, job.communicate()[0]
            assert "alembic_version" not in _tables(fresh_database)
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            out = job.communicate(timeout=120)[0]
    finally:
        holder.dispose()
    assert job.returncode == 0, out
    assert "another `dropdesk migrate` is running" in out
    assert current_heads(fresh_database) == set(HEAD)


def test_the_service_never_migrates_at_start(fresh_database: str) -> None:
    settings = Settings(env="test", database_url=fresh_database)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert _tables(fresh_database) == set()
