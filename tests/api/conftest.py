"""Fixtures: a migrated database per backend (SQLite always, PostgreSQL when reachable)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.database.core import get_engine, get_session_factory
from dropdesk.database.migrate import upgrade
from dropdesk.main import create_app
from dropdesk.models import Base
from tests.api.factories import MERCHANT_A, MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve

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
    # Photos are read (OCR workers) only where a test asks for it: test_slip_flow.py.
    return Settings(env="test", database_url=database_url, holidays=[dt.date(2026, 10, 1)],
                    read_photos=False)  # fmt: skip


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


@pytest.fixture
def rasa() -> Iterator[tuple[FakeRasa, int]]:
    fake, port = FakeRasa(), free_port()
    with serve(fake.app, port):
        yield fake, port


@pytest.fixture
def client(settings: Settings, rasa: tuple[FakeRasa, int], db_session: Session
           ) -> Iterator[TestClient]:  # fmt: skip
    store(db_session, row(), row(merchant_no=MERCHANT_B, terminal_no="T0000002"))
    settings = settings.model_copy(
        update={"rasa_url": f"http://127.0.0.1:{rasa[1]}", "rasa_timeout_seconds": 1.0}
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def auth(settings: Settings, merchant_no: str = MERCHANT_A) -> dict[str, str]:
    token = issue_merchant_token(merchant_no=merchant_no, settings=settings)
    return {"Authorization": f"Bearer {token}"}


def open_session(client: TestClient, settings: Settings, merchant: str = MERCHANT_A) -> str:
    response = client.post("/api/v1/sessions", headers=auth(settings, merchant))
    assert response.status_code == 201
    return str(response.json()["session_id"])
