"""The service as `dropdesk run` starts it (`python -m uvicorn dropdesk.main:create_app
--factory`), in a subprocess whose output goes to a file: for tests of what only the real
server does (its logging, its worker threads)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dropdesk.config import ROOT
from tests.api.fake_rasa import free_port


def _wait_alive(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the service exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the service did not start:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def live_service(log: Path, env: dict[str, str]) -> Iterator[str]:
    """Start the service with DROPDESK_* settings from env; yield its base URL; stop it."""
    port = free_port()
    full_env = (
        dict(os.environ)
        | env
        | {
            "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        }
    )
    base_url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "dropdesk.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_alive(base_url, proc, log)
            yield base_url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
