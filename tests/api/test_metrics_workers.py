"""Several uvicorn workers behind one port: /metrics adds them up in multiprocess mode."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT, Settings
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from tests.api.factories import MERCHANT_A, row, store
from tests.api.fake_rasa import FakeRasa, free_port, serve
from tests.api.live_service import _wait_alive


def _turns(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dropdesk_turns_total" and sample.labels == {"outcome": "bot"}:
                return sample.value
    return 0.0


def test_two_workers_report_every_turn_whichever_answers_the_scrape(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'dropdesk.db'}"
    upgrade(database_url)
    with session_scope(database_url) as db:
        store(db, row())
    (tmp_path / "prom").mkdir()
    rasa, rasa_port, port = FakeRasa(), free_port(), free_port()
    settings = Settings(env="test", database_url=database_url,
                        secret_key=secrets.token_urlsafe(32))  # fmt: skip
    env = dict(os.environ) | {
        "DROPDESK_ENV": "test", "DROPDESK_DATABASE_URL": database_url,
        "DROPDESK_SECRET_KEY": settings.secret_key,
        "DROPDESK_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }  # fmt: skip
    log = tmp_path / "service.log"
    base_url = f"http://127.0.0.1:{port}"
    with serve(rasa.app, rasa_port), log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dropdesk.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_alive(base_url, proc, log)
            token = issue_merchant_token(merchant_no=MERCHANT_A, settings=settings)
            auth = {"Authorization": f"Bearer {token}"}
            # A new connection each time, so the kernel spreads them over both workers; on
            # until both have taken turns (their access lines name their pids).
            sent = 0
            while sent < 8 or (len(_served(log)) < 2 and sent < 60):
                sid = httpx.post(f"{base_url}/api/v1/sessions", headers=auth).json()["session_id"]
                said = httpx.post(f"{base_url}/api/v1/sessions/{sid}/messages", headers=auth,
                                  json={"text": f"第{sent}条"})  # fmt: skip
                assert said.status_code == 200
                sent += 1
            scrapes = [_turns(httpx.get(f"{base_url}/metrics").text) for _ in range(6)]
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=20)
    assert len(_served(log)) == 2  # both workers took turns
    assert scrapes == [sent] * 6  # every scrape counts them all, whichever worker answered


def _served(log: Path) -> set[int]:
    """The pids of the workers that answered merchant messages, from their access lines.

    With --workers the parent process logs a few plain lines before any app is loaded.
    """
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {e["pid"] for e in entries if e.get("http", {}).get("path", "").endswith("/messages")}
