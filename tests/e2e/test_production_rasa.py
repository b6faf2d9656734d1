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
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "DROPDESK_RASA_TOKEN": token}  # fmt: skip
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


def _post(base: str, token: str, body: dict[str, object]) -> httpx.Response:
    """The service's request to Rasa's DropDesk channel, with Rasa's token."""
    return httpx.post(f"{base}/webhooks/dropdesk/webhook", json=body, timeout=60,
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def test_the_rest_channel_is_off_and_ours_is_on(production_rasa: tuple[str, str]) -> None:
    base, token = production_rasa
    body = {"sender": "prod-check", "message": "你好"}
    rest = httpx.post(f"{base}/webhooks/rest/webhook", json=body, timeout=30)
    assert rest.status_code == 404
    ours = _post(base, token, body)
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


def _user_events(base: str, token: str, sender: str) -> list[dict[str, object]]:
    tracker = httpx.get(f"{base}/conversations/{sender}/tracker", params={"token": token},
                        timeout=30)  # fmt: skip
    tracker.raise_for_status()
    return [e for e in tracker.json()["events"] if e["event"] == "user"]


def test_a_failed_turn_leaves_nothing_in_the_tracker(production_rasa: tuple[str, str]) -> None:
    """A drop report needs the action server (absent here): Rasa logs the failed action and
    carries on, the channel answers 503 and saves nothing, so the service may send it again."""
    base, token = production_rasa
    sender = f"failed-{secrets.token_hex(4)}"
    body = {"sender": sender, "message": "刚才刷了320块5，机器显示超时，参考号612300000001",
            "message_id": "dd-1"}  # fmt: skip
    failed = _post(base, token, body)
    assert failed.status_code == 503, failed.text
    assert _user_events(base, token, sender) == []
    again = _post(base, token, body | {"retry": True})
    assert again.status_code == 503, again.text  # not found in the tracker: run, and failed
    assert _user_events(base, token, sender) == []


def test_a_message_is_taken_once_by_its_id(production_rasa: tuple[str, str]) -> None:
    """Sent again with "retry" (the service's retry, or a take-over after its process died),
    a message Rasa already took gets that turn's answer back and runs nothing twice."""
    base, token = production_rasa
    sender = f"once-{secrets.token_hex(4)}"
    body = {"sender": sender, "message": "你好", "message_id": "dd-7"}
    first = _post(base, token, body)
    assert first.status_code == 200, first.text
    assert first.json()["messages"], first.text
    retry = _post(base, token, body | {"retry": True})
    assert retry.status_code == 200, retry.text
    assert retry.json()["messages"] == first.json()["messages"]
    users = _user_events(base, token, sender)
    assert [(u["text"], u["message_id"]) for u in users] == [("你好", "dd-7")]
    # A different message id is a different message: it runs.
    other = _post(base, token, body | {"message_id": "dd-8", "retry": True})
    assert other.status_code == 200, other.text
    assert [u["message_id"] for u in _user_events(base, token, sender)] == ["dd-7", "dd-8"]


def test_the_channel_needs_rasa_s_token(production_rasa: tuple[str, str]) -> None:
    """Whoever reaches Rasa's port cannot speak as a merchant's session without the token."""
    base, token = production_rasa
    body = {"sender": f"forged-{secrets.token_hex(4)}", "message": "你好"}
    hook = f"{base}/webhooks/dropdesk/webhook"
    assert httpx.post(hook, json=body, timeout=30).status_code == 401
    wrong = {"Authorization": f"Bearer x{token}"}
    assert httpx.post(hook, json=body, headers=wrong, timeout=30).status_code == 401
    assert _user_events(base, token, body["sender"]) == []  # nothing reached the tracker
    assert _post(base, token, body).status_code == 200
