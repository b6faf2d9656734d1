"""DROPDESK_ENV=production: one switch, checked at start, refusing anything one replica keeps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dropdesk.auth import service as auth_service
from dropdesk.config import Settings, production_problems, settings_error

STRONG = {
    "secret_key": "s" * 40,
    "internal_token": "i" * 40,
    "rasa_token": "r" * 40,
    "database_url": "postgresql+psycopg://dropdesk:pw@postgres:5432/dropdesk",
    "pubsub_url": "redis://redis:6379/0",
}


def _refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(env="production", **values)
    return settings_error(caught.value)


def test_a_complete_production_profile_is_accepted() -> None:
    settings = Settings(env="production", **STRONG)
    assert production_problems(settings) == []
    # Photos go where every replica reads them, unless told otherwise.
    assert settings.attachment_backend()[0] == "database"
    assert Settings(env="local").attachment_backend()[0] == "file"


def test_every_problem_is_named_at_once() -> None:
    text = _refusal()
    for name in ("DROPDESK_DATABASE_URL", "DROPDESK_PUBSUB_URL", "DROPDESK_SECRET_KEY",
                 "DROPDESK_INTERNAL_TOKEN", "DROPDESK_RASA_TOKEN"):  # fmt: skip
        assert name in text
    assert "Traceback" not in text and "type=value_error" not in text


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"database_url": "sqlite:////var/lib/dropdesk.db"}, "DROPDESK_DATABASE_URL"),
        ({"pubsub_url": "memory://"}, "DROPDESK_PUBSUB_URL"),
        ({"secret_key": "dev-only-secret-change-me-in-production"}, "DROPDESK_SECRET_KEY"),
        ({"internal_token": "short"}, "DROPDESK_INTERNAL_TOKEN"),
        ({"rasa_token": "dev-only-rasa-token"}, "DROPDESK_RASA_TOKEN"),
        ({"attachment_store": "file"}, "DROPDESK_ATTACHMENT_STORE"),
    ],
)
def test_one_thing_one_replica_keeps_is_refused(override: dict[str, str], named: str) -> None:
    text = _refusal(**{**STRONG, **override})
    assert named in text
    assert text.count("\n  - ") == 1  # only the one problem


def test_a_shared_folder_or_the_database_may_hold_photos() -> None:
    shared = Settings(env="production", **STRONG, attachment_store="file:///mnt/shared/photos")
    assert shared.attachment_backend() == ("file", Path("/mnt/shared/photos"))
    in_db = Settings(env="production", **STRONG, attachment_store="database")
    assert in_db.attachment_backend()[0] == "database"
    with pytest.raises(ValidationError, match="ATTACHMENT_STORE"):
        Settings(attachment_store="s3://bucket")


def test_the_cli_refuses_to_start_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPDESK_")}
    env["DROPDESK_ENV"] = "production"
    done = subprocess.run([sys.executable, "-m", "dropdesk.cli", "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "DROPDESK_ENV=production refuses to start" in done.stderr
    assert "DROPDESK_DATABASE_URL must be PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_internal_token_is_compared_in_constant_time(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = auth_service.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth_service.hmac, "compare_digest", spy)
    body = {"merchant_no": "865310054119999", "order_ref": "612300000051"}
    token = settings.internal_token
    for wrong in (token[:-1], token[:-1] + "x", token + "x", "x" * len(token)):
        refused = client.post("/internal/v1/diagnoses", json=body,
                              headers={"Authorization": f"Bearer {wrong}"})  # fmt: skip
        assert refused.status_code == 401
    right = client.post("/internal/v1/diagnoses", json=body,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert right.status_code == 404  # past the token: an unknown merchant
    assert (token.encode(), token.encode()) in calls
    assert len(calls) == 5
