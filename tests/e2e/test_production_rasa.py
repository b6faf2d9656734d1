"""Rasa as production starts it (docker/bot.Dockerfile, deploy/k8s/rasa.yaml): the real model,
the production credentials (no `rest` channel) and --auth-token on its HTTP API."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dropdesk.config import ROOT
from dropdesk.devrun import free_port
from tests.e2e.conftest import BOT_VENV, MODEL

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def production_rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    if not MODEL or not Path(MODEL).exists():
        if os.environ.get("DROPDESK_REQUIRE_RASA") == "1":
            pytest.fail(f"trained model not found: {MODEL!r}")
        pytest.skip("no trained Rasa model: run through `make test` (DROPDESK_TEST_MODEL)")
    workdir = tmp_path_factory.mktemp("production-rasa")
    # docker/endpoints.yml needs PostgreSQL and Redis by their compose names; here the
    # trackers stay in memory and the action server is absent: this test is about the doors.
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{free_port()}/webhook"\n')
    port, token = free_port(), secrets.token_urlsafe(32)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    log = (workdir / "rasa.log").open("wb")
    rasa = subprocess.Popen(
        [str(BOT_VENV / "bin" / "python"), "-m", "bot.server", "run", "--enable-api",
         "--auth-token", token, "--model", str(Path(MODEL).resolve()),
         "--endpoints", str(endpoints), "--credentials", str(ROOT / "docker" / "credentials.yml"),
         "--port", str(port), "--interface", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert rasa.poll() is None, (workdir / "rasa.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/status", params={"token": token}, timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("Rasa did not start: " + (workdir / "rasa.log").read_text()[-3000:])
        yield base, token
    finally:
        rasa.terminate()
        try:
            rasa.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rasa.kill()
        log.close()


def test_the_rest_channel_is_off_and_ours_is_on(production_rasa: tuple[str, str]) -> None:
    base, _ = production_rasa
    body = {"sender": "prod-check", "message": "你好"}
    rest = httpx.post(f"{base}/webhooks/rest/webhook", json=body, timeout=30)
    assert rest.status_code == 404
    ours = httpx.post(f"{base}/webhooks/dropdesk/webhook", json=body, timeout=60)
    # 200 with the replies, or 503 if an action was needed (no action server here): the
    # channel is there either way.
    assert ours.status_code in (200, 503), ours.text
    if ours.status_code == 200:
        assert "messages" in ours.json() and "slots" in ours.json()


def test_the_http_api_needs_the_token(production_rasa: tuple[str, str]) -> None:
    base, token = production_rasa
    tracker = f"{base}/conversations/prod-check/tracker"
    assert httpx.get(tracker, timeout=10).status_code == 401
    assert httpx.get(tracker, params={"token": "x" + token}, timeout=10).status_code == 401
    assert httpx.get(tracker, params={"token": token}, timeout=10).status_code == 200
    assert httpx.get(f"{base}/version", timeout=10).status_code == 200  # the probes' path
