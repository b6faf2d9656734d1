"""The real server's log: JSON lines, card numbers masked, read from uvicorn's own output.

The service is started the way `dropdesk run` starts it (`python -m uvicorn
dropdesk.main:create_app --factory`), as a subprocess whose stdout and stderr go to a file, and
the test reads that file. A filter that only a test's log capture passes through proves nothing:
once one was attached where uvicorn never logs, its test passed and the service masked nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from pathlib import Path

import httpx

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.logs import JsonFormatter
from tests.api.factories import CARD_1, MERCHANT_A, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve
from tests.api.live_service import live_service

MASKED = f"{CARD_1[:6]}******{CARD_1[-4:]}"
GROUPED = " ".join(CARD_1[i : i + 4] for i in range(0, len(CARD_1), 4))  # 6222 0212 3456 7890 128


def test_the_running_service_logs_json_with_card_numbers_masked(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'dropdesk.db'}"
    upgrade(database_url)
    with session_scope(database_url) as db:
        store(db, row())
    rasa, rasa_port = FakeRasa(), free_port()

    @rasa.app.get("/version")
    def version() -> dict[str, str]:
        return {"version": "3.6.21"}

    rasa_url = f"http://127.0.0.1:{rasa_port}"
    settings = Settings(env="test", database_url=database_url,
                        secret_key=secrets.token_urlsafe(32))  # fmt: skip
    env = {
        "DROPDESK_ENV": "test",
        "DROPDESK_DATABASE_URL": database_url,
        "DROPDESK_SECRET_KEY": settings.secret_key,
        "DROPDESK_RASA_URL": rasa_url,
        # A readiness check that fails with the card number in its URL: our own logger
        # (dropdesk.health) then logs it, inside the running server.
        "DROPDESK_ACTIONS_URL": f"{rasa_url}/cards/{CARD_1}",
    }
    log = tmp_path / "service.log"
    with serve(rasa.app, rasa_port), live_service(log, env) as base_url:
        token = issue_merchant_token(merchant_no=MERCHANT_A, settings=settings)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, timeout=10) as http:
            assert http.get("/healthz", params={"card": CARD_1}).status_code == 200
            assert http.get("/healthz", params={"card": GROUPED}).status_code == 200
            assert http.get(f"/api/v1/sessions/{CARD_1}", headers=auth).status_code == 404
            sid = http.post("/api/v1/sessions", headers=auth).json()["session_id"]
            said = http.post(f"/api/v1/sessions/{sid}/messages", headers=auth,
                             json={"text": f"顾客的卡号{CARD_1}，刷了没成功"})  # fmt: skip
            assert said.status_code == 200
            assert http.get("/readyz").json()["failed"] == ["actions"]
            metrics = http.get("/metrics").text
    assert 'dropdesk_turns_total{outcome="bot"} 1.0' in metrics
    text = log.read_text(encoding="utf-8")
    assert CARD_1 not in text and GROUPED not in text
    assert CARD_1[:6] + "%20" not in text and CARD_1[:4] + "+" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line JSON
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    loggers = {entry["logger"] for entry in lines}
    assert {"uvicorn.error", "uvicorn.access", "dropdesk.health"} <= loggers, loggers
    access = [e for e in lines if e["logger"] == "uvicorn.access"]
    card_queries = [e for e in access if e["http"]["path"].startswith("/healthz?card=")]
    assert [e["http"]["path"] for e in card_queries] == [f"/healthz?card={MASKED}"] * 2
    assert any(e["http"]["path"] == f"/api/v1/sessions/{MASKED}" and e["http"]["status"] == 404
               for e in access)  # fmt: skip
    assert all(MASKED in e["message"] for e in card_queries)
    health = [e for e in lines if e["logger"] == "dropdesk.health"]
    assert health and all(MASKED in e["message"] for e in health)
    assert any("Application startup complete" in e["message"] for e in lines)
    # What the merchant said is kept masked too (the bot heard the masked text).
    assert rasa.received[-1]["message"] == f"顾客的卡号{MASKED}，刷了没成功"


def test_the_formatter_masks_exceptions_and_extra_fields() -> None:
    try:
        raise ValueError(f"card {GROUPED} refused")
    except ValueError:
        record = logging.LogRecord("dropdesk.x", logging.ERROR, __file__, 1, "failed for %s",
                                   (CARD_1,), sys.exc_info())  # fmt: skip
    record.card = CARD_1
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == f"failed for {MASKED}"
    assert entry["card"] == MASKED
    assert MASKED in entry["exception"] and "6222 0212" not in entry["exception"]
    assert entry["level"] == "ERROR" and entry["logger"] == "dropdesk.x"
