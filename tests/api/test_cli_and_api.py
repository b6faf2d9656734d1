"""The three ways to reach a diagnosis, demo data, tokens and settings."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dropdesk import demo
from dropdesk.auth.service import InvalidTokenError, read_merchant_token
from dropdesk.card import PanMaskingFilter, mask_pans
from dropdesk.config import Settings, get_settings
from dropdesk.main import create_app
from dropdesk.transaction.models import Transaction
from tests.api.factories import MERCHANT_A, row, store

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("DROPDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("DROPDESK_SECRET_KEY", "test-secret-0123456789abcdef-0123456789")
    get_settings.cache_clear()


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.mark.usefixtures("cli_env")
def test_cli_diagnose_json(db_session: Session) -> None:
    store(db_session, row(ref_no="612300000001", terminal_status="timeout"))
    result = runner.invoke(app_cli(), ["diagnose", "--merchant", MERCHANT_A,
                                       "--ref", "612300000001", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["code"] == "approved_not_printed"
    assert body["transactions"][0]["amount"] == "320.50"
    assert body["transactions"][0]["card_masked"] == "622202******0128"
    assert body["reason"]
    text = runner.invoke(app_cli(), ["diagnose", "--merchant", MERCHANT_A, "--time",
                                     "2026-11-25T15:05", "--amount", "320.5"])  # fmt: skip
    assert text.exit_code == 0 and text.output.startswith("approved_not_printed")
    bad = runner.invoke(app_cli(), ["diagnose", "--merchant", MERCHANT_A, "--amount", "x"])
    assert bad.exit_code == 2


@pytest.mark.usefixtures("cli_env")
def test_seed_is_idempotent_and_covers_every_code(db_session: Session, settings: Settings,
                                                  ) -> None:  # fmt: skip
    counts = []
    for _ in range(2):
        assert runner.invoke(app_cli(), ["seed", "--demo"]).exit_code == 0
        db_session.rollback()
        counts.append(db_session.scalar(select(func.count()).select_from(Transaction)))
    assert counts[0] == counts[1] == 16
    codes = set()
    for query in demo.EXAMPLES.values():
        out = runner.invoke(app_cli(), ["diagnose", "--merchant", demo.STORE.merchant_no,
                                        *query, "--json"])  # fmt: skip
        assert out.exit_code == 0, out.output
        codes.add(json.loads(out.output)["code"])
    assert codes == set(demo.EXAMPLES)


@pytest.mark.usefixtures("cli_env")
def test_merchant_token(db_session: Session) -> None:
    store(db_session, row())
    result = runner.invoke(app_cli(), ["merchant-token", MERCHANT_A, "--hours", "1"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert read_merchant_token(token=token, settings=get_settings()) == MERCHANT_A
    with pytest.raises(InvalidTokenError):
        read_merchant_token(
            token=token, settings=Settings(secret_key="another-secret-xxxxxxxx-xxxxxxxxxxxxxxxxx")
        )
    with pytest.raises(InvalidTokenError):
        read_merchant_token(token=token[:-2] + "xx", settings=get_settings())
    assert runner.invoke(app_cli(), ["merchant-token", "865310054119999"]).exit_code != 0


def test_internal_api_needs_the_token(client: TestClient, settings: Settings,
                                      db_session: Session) -> None:  # fmt: skip
    store(db_session, row(ref_no="612300000051", response_code="51"))
    body = {"merchant_no": MERCHANT_A, "order_ref": "612300000051"}
    assert client.post("/internal/v1/diagnoses", json=body).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/internal/v1/diagnoses", json=body, headers=wrong).status_code == 401
    auth = {"Authorization": f"Bearer {settings.internal_token}"}
    response = client.post("/internal/v1/diagnoses", json=body, headers=auth)
    assert response.status_code == 200
    assert response.json()["code"] == "declined"
    bad = client.post("/internal/v1/diagnoses", json={"merchant_no": "x"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    unknown = client.post(
        "/internal/v1/diagnoses",
        headers=auth,
        json={"merchant_no": "865310054119999", "order_ref": "612300000051"},
    )
    assert unknown.status_code == 404


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_production_refuses_dev_secrets() -> None:
    with pytest.raises(ValueError, match="DROPDESK_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValueError, match="DROPDESK_RASA_TOKEN"):
        Settings(env="production", secret_key="s" * 32, internal_token="i" * 32)
    Settings(env="production", secret_key="s" * 32, internal_token="i" * 32, rasa_token="r" * 32,
             database_url="postgresql+psycopg://db/dropdesk", pubsub_url="redis://redis:6379/0")


def test_settings_lists_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPDESK_HOLIDAYS", "2026-10-01, 2026-10-02")
    assert [d.isoformat() for d in Settings().holidays] == ["2026-10-01", "2026-10-02"]


def test_card_numbers_are_masked_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert mask_pans("卡号 6222021234567890128 付款") == "卡号 622202******0128 付款"
    assert mask_pans("商户 865310054110001") == "商户 865310054110001"  # not Luhn-valid
    # Written the way cards print: groups of four, or Amex's 4-6-5.
    assert mask_pans("卡号 6222 0212 3456 7890 128 付款") == "卡号 622202******0128 付款"
    assert mask_pans("4111-1111-1111-1111") == "411111******1111"
    assert mask_pans("3782 822463 10005") == "378282******0005"
    assert mask_pans("参考号613301000301 4111 1111 1111 1111") == (
        "参考号613301000301 411111******1111"
    )
    # A reference and the amount after it are two numbers, even when together they would
    # pass Luhn (6133010003012 68 does): masking them once destroyed both values.
    assert mask_pans("参考号613301000301 268块") == "参考号613301000301 268块"
    assert mask_pans("参考号613301000301 268") == "参考号613301000301 268"
    logger = logging.getLogger("dropdesk.test")
    caplog.handler.addFilter(PanMaskingFilter())
    logger.warning("card %s declined", "6222 0212 3456 7890 128")
    assert "6222 0212" not in caplog.text and "622202******0128" in caplog.text


def app_cli():  # type: ignore[no-untyped-def]
    from dropdesk.cli import app

    return app
