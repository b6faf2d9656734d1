"""The whole stack on free ports: real Rasa model, real action server, real service."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dropdesk import demo
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack, local_stack
from dropdesk.timezone import now_shanghai
from tests.e2e.shops import ALLOWED_SHOP_PORT

MODEL = os.environ.get("DROPDESK_TEST_MODEL", "")
BOT_VENV = Path(os.environ.get("DROPDESK_BOT_VENV", ROOT / ".venv-bot"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL or not Path(MODEL).exists():
        if os.environ.get("DROPDESK_REQUIRE_RASA") == "1":
            pytest.fail(f"trained model not found: {MODEL!r}")
        pytest.skip("no trained Rasa model: run through `make test` (DROPDESK_TEST_MODEL)")
    workdir = tmp_path_factory.mktemp("stack")
    extra_env = {
        "DROPDESK_UPLOAD_DIR": str(workdir / "uploads"),
        "DROPDESK_ALLOWED_ORIGINS": f"http://127.0.0.1:{ALLOWED_SHOP_PORT}",
        # Agents on duty whenever the suite runs (the off-hours answer has its own test).
        "DROPDESK_WORKING_HOURS": "00:00-24:00",
    }
    with local_stack(workdir, Path(MODEL).resolve(), BOT_VENV, extra_env=extra_env) as s:
        yield s


class Chat:
    """One merchant's conversation through the public chat API."""

    def __init__(self, stack: Stack, merchant_no: str) -> None:
        token = issue_merchant_token(merchant_no=merchant_no, settings=stack.settings)
        self.http = httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
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
    # The demo store's times are relative to when it was seeded ("五十分钟前" means a 10-minute
    # window): seed it afresh so a conversation never depends on how long earlier tests took.
    with session_scope(stack.settings.database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())
    chat = Chat(stack, demo.STORE.merchant_no)
    yield chat
    chat.http.close()
