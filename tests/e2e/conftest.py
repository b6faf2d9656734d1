"""The whole stack on free ports: real Rasa model, real action server, real service."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dropdesk import demo, devrun
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT, Settings
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.timezone import now_shanghai
from tests.api.fake_rasa import free_port

MODEL = os.environ.get("DROPDESK_TEST_MODEL", "")
BOT_VENV = Path(os.environ.get("DROPDESK_BOT_VENV", ROOT / ".venv-bot"))


@dataclass
class Stack:
    base_url: str
    rasa_url: str
    settings: Settings
    log_dir: Path

    def token(self, merchant_no: str) -> str:
        return issue_merchant_token(merchant_no=merchant_no, settings=self.settings)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL or not Path(MODEL).exists():
        if os.environ.get("DROPDESK_REQUIRE_RASA") == "1":
            pytest.fail(f"trained model not found: {MODEL!r}")
        pytest.skip("no trained Rasa model: run through `make test` (DROPDESK_TEST_MODEL)")
    tmp = tmp_path_factory.mktemp("stack")
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{tmp / 'dropdesk.db'}",
        secret_key=secrets.token_urlsafe(32),
        internal_token=secrets.token_urlsafe(32),
        port=port,
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        rasa_timeout_seconds=30,
    )
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    env = devrun.child_env(settings)
    env.update(
        {
            "DROPDESK_DATABASE_URL": settings.database_url,
            "DROPDESK_SECRET_KEY": settings.secret_key,
            "DROPDESK_PORT": str(port),
            "DROPDESK_RASA_URL": settings.rasa_url,
            "DROPDESK_RASA_TIMEOUT_SECONDS": "30",
        }
    )
    specs = devrun.processes(
        settings, Path(MODEL).resolve(), BOT_VENV, actions_port=actions_port, endpoints=endpoints
    )
    log_dir = tmp / "log"
    running = devrun.start(specs, log_dir, env)
    try:
        failed = devrun.wait_healthy(specs, running, timeout=300)
        if failed:
            log = (log_dir / f"{failed}.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"{failed} did not start:\n{log}")
        yield Stack(f"http://127.0.0.1:{port}", settings.rasa_url, settings, log_dir)
    finally:
        devrun.stop(running)


class Chat:
    """One merchant's conversation through the public chat API."""

    def __init__(self, stack: Stack, merchant_no: str) -> None:
        self.http = httpx.Client(
            base_url=stack.base_url,
            headers={"Authorization": f"Bearer {stack.token(merchant_no)}"},
            timeout=60,
        )
        response = self.http.post("/api/v1/sessions")
        response.raise_for_status()
        self.id = response.json()["session_id"]
        self.replies: list[str] = []

    def say(self, text: str) -> dict:  # type: ignore[type-arg]
        response = self.http.post(f"/api/v1/sessions/{self.id}/messages", json={"text": text})
        response.raise_for_status()
        body = response.json()
        self.replies.extend(m["text"] for m in body["messages"])
        return body  # type: ignore[no-any-return]

    def state(self) -> dict:  # type: ignore[type-arg]
        return self.http.get(f"/api/v1/sessions/{self.id}").json()  # type: ignore[no-any-return]

    def transcript(self) -> str:
        return "\n".join(self.replies)


@pytest.fixture
def store_chat(stack: Stack) -> Iterator[Chat]:
    chat = Chat(stack, demo.STORE.merchant_no)
    yield chat
    chat.http.close()
