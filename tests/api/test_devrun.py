"""devrun: warming Rasa up, and `dropdesk run` leaving no process behind when it is stopped."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dropdesk import devrun
from dropdesk.database.migrate import upgrade


def test_warm_up_parses_and_holds_one_throwaway_conversation() -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    tokens: list[str | None] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        tokens.append(request.url.params.get("token"))
        return httpx.Response(200, json=[] if "webhook" in request.url.path else {"intent": {}})

    client = httpx.Client(transport=httpx.MockTransport(rasa))
    elapsed = devrun.warm_up("http://rasa", "t0ken", client)

    assert elapsed >= 0
    assert [path for path, _ in seen] == ["/model/parse"] * 3 + ["/webhooks/rest/webhook"]
    assert [body["text"] for _, body in seen[:3]] == list(devrun.WARM_UP_TEXTS)
    sender = seen[3][1]["sender"]
    assert sender.startswith("dropdesk-warm-up-")  # never a merchant's session id
    # Rasa runs with --auth-token: its HTTP API (parse) needs the token, channels do not.
    assert tokens == ["t0ken"] * 3 + [None]


def test_warm_up_reports_a_rasa_that_refuses() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    with pytest.raises(httpx.HTTPStatusError):
        devrun.warm_up("http://rasa", "t0ken", client)


# `dropdesk run` against stand-ins for the bot runtime: `bin/rasa` (the action server) and
# `bin/python` (Rasa) answer 200 to everything on their --port and each keeps a sleeping child,
# so the test sees whether whole process groups go, not just the processes `run` started.
FAKE_BOT = """#!{python}
import http.server
import os
import subprocess
import sys
from pathlib import Path


class Ok(http.server.BaseHTTPRequestHandler):
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"[]" if "webhook" in self.path else b"{{}}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", int(sys.argv[sys.argv.index("--port") + 1])), Ok
)
sleeper = subprocess.Popen(["sleep", "600"])
pids = Path({pid_dir!r}) / Path(sys.argv[0]).name
pids.with_suffix(".tmp").write_text(f"{{os.getpid()}} {{sleeper.pid}}")
pids.with_suffix(".tmp").rename(pids)
server.serve_forever()
"""


def _processes() -> dict[int, tuple[int, int]]:
    """Every live (not zombie) process: pid -> (parent pid, process group)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, pgid = stat[stat.rindex(")") + 2 :].split()[:3]
        if state not in "ZX":
            table[int(entry.name)] = (int(ppid), int(pgid))
    return table


def _descendants(root: int) -> set[int]:
    table = _processes()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def _cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def kill_leftovers(run: subprocess.Popen[bytes], pids: set[int]) -> None:
    """After a failed run: kill `dropdesk run`, its children and their process groups."""
    if run.poll() is None:
        pids |= _descendants(run.pid)
        run.kill()
        run.wait()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def start_run_with_fake_bots(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, Path, int]:
    """Start `dropdesk run` whose Rasa and action server are FAKE_BOT; return run, pids, output."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    bot_venv = tmp_path / "bot-venv"
    (bot_venv / "bin").mkdir(parents=True)
    for name in ("rasa", "python"):
        fake = bot_venv / "bin" / name
        fake.write_text(FAKE_BOT.format(python=sys.executable, pid_dir=str(pid_dir)))
        fake.chmod(0o755)
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not a model: the fake Rasa never reads it")
    database_url = f"sqlite:///{tmp_path / 'dropdesk.db'}"
    upgrade(database_url)
    port, rasa_port, actions_port = devrun.free_port(), devrun.free_port(), devrun.free_port()
    env = os.environ | {
        "DROPDESK_ENV": "test",
        "DROPDESK_DATABASE_URL": database_url,
        "DROPDESK_SECRET_KEY": secrets.token_urlsafe(32),
        "DROPDESK_INTERNAL_TOKEN": secrets.token_urlsafe(32),
        "DROPDESK_PORT": str(port),
        "DROPDESK_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "DROPDESK_ACTIONS_PORT": str(actions_port),
        "DROPDESK_LOG_DIR": str(tmp_path / "log"),
        "PYTHONUNBUFFERED": "1",
    }
    out = tmp_path / "run.out"
    dropdesk = Path(sys.executable).parent / "dropdesk"
    argv = [str(dropdesk), "run", "--model", str(model), "--bot-venv", str(bot_venv)]
    with out.open("wb") as sink:
        run = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return run, pid_dir, out, actions_port


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_run_stops_every_process_group_on_signal(tmp_path: Path, signum: int) -> None:
    run, pid_dir, out, actions_port = start_run_with_fake_bots(tmp_path)
    groups: set[int] = set()
    pids: set[int] = set()
    stopped = False
    try:
        up = _wait_for(lambda: "Ctrl-C stops everything" in out.read_text(), timeout=120)
        assert up, out.read_text() + "".join(
            f"\n--- {log.name}\n{log.read_text()[-2000:]}" for log in (tmp_path / "log").glob("*")
        )
        assert f"actions   http://127.0.0.1:{actions_port}" in out.read_text()
        table = _processes()
        children = {pid for pid, (ppid, _) in table.items() if ppid == run.pid}
        groups = {table[pid][1] for pid in children}
        pids = _descendants(run.pid)
        assert groups == children  # each child leads its own group
        commands = sorted(_cmdline(pid) for pid in children)
        assert len(commands) == 3, commands
        assert any("uvicorn dropdesk.main:create_app" in c for c in commands), commands
        for name in ("rasa", "python"):  # the action server and Rasa, with their sleepers
            server, sleeper = map(int, (pid_dir / name).read_text().split())
            assert server in children and sleeper in pids and table[sleeper][1] == server

        os.kill(run.pid, signum)
        assert run.wait(timeout=15) == 0, out.read_text()
        assert "stopping ..." in out.read_text()

        def all_gone() -> bool:
            return not any(pid in pids or pgid in groups for pid, (_, pgid) in _processes().items())

        assert _wait_for(all_gone, timeout=5), [
            (pid, _cmdline(pid)) for pid, (_, pgid) in _processes().items()
            if pid in pids or pgid in groups
        ]  # fmt: skip
        stopped = True
    finally:
        if not stopped:  # a failed run: kill whatever it left behind
            kill_leftovers(run, pids)


def test_free_ports_are_distinct_and_outside_the_ephemeral_range() -> None:
    ports = [devrun.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(20000 <= p < 32000 for p in ports)  # never where outgoing connections take theirs


def test_a_server_that_cannot_bind_says_so_instead_of_answering_for_another() -> None:
    import socket

    from fastapi import FastAPI

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="could not serve"), devrun.serve_in_thread(
            FastAPI(), port
        ):
            pass
