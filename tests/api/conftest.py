"""Fixtures: a migrated database per backend (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.database.core import get_engine, get_session_factory
from dropdesk.database.migrate import upgrade
from dropdesk.models import Base

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_BASE = os.environ.get(
    "DROPDESK_TEST_POSTGRES_URL", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
)


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[str]:  # fmt: skip
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dropdesk.db'}"
        upgrade(url)
        yield url
        return
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}")
    schema = f"dd_test_{uuid.uuid4().hex[:10]}"
    admin = get_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(env="test", database_url=database_url, holidays=[dt.date(2026, 10, 1)])


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    session = get_session_factory(database_url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        with get_engine(database_url).begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
