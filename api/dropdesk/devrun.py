"""Start Rasa, the action server and the service together; stop all three on Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from dropdesk.config import ROOT, Settings

ACTIONS_PORT = 5055  # the action endpoint in bot/endpoints.yml
BOT_ENDPOINTS = Path("bot/endpoints.yml")


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]
    health_url: str


def processes(
    settings: Settings,
    model: Path,
    bot_venv: Path,
    actions_port: int = ACTIONS_PORT,
    endpoints: Path = BOT_ENDPOINTS,
) -> list[Process]:
    """The three processes of a local DropDesk, with their health checks."""
    rasa = str(bot_venv / "bin" / "rasa")
    python = str(bot_venv / "bin" / "python")
    rasa_port = settings.rasa_url.rsplit(":", 1)[-1].rstrip("/")
    return [
        Process(
            "actions",
            [rasa, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            f"http://127.0.0.1:{actions_port}/health",
        ),
        Process(
            "rasa",
            # `rasa` with our runtime fixes installed (bot/server.py).
            [python, "-m", "bot.server", "run", "--enable-api", "--auth-token", settings.rasa_token,
             "--model", str(model),
             "--port", rasa_port, "--interface", "127.0.0.1", "--endpoints", str(endpoints),
             "--credentials", "bot/credentials.yml"],
            # Rasa answers /status only with the token it was started with.
            f"{settings.rasa_url}/status?token={quote(settings.rasa_token, safe='')}",
        ),
        Process(
            "service",
            [sys.executable, "-m", "uvicorn", "dropdesk.main:create_app", "--factory",
             "--host", settings.host, "--port", str(settings.port)],
            f"http://{settings.host}:{settings.port}/healthz",
        ),
    ]  # fmt: skip


TRACKER_DB = ROOT / "var" / "rasa-tracker.db"  # bot/endpoints.yml names it relative to ROOT


def write_endpoints(path: Path, actions_port: int, tracker_db: Path = TRACKER_DB) -> Path:
    """Write a Rasa endpoints file: the action endpoint on 127.0.0.1:actions_port, and
    conversations kept in a SQL tracker store on the SQLite file tracker_db (they survive a
    restart of Rasa)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {json.dumps(str(tracker_db))}\n"
    )
    return path


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start(
    specs: list[Process], log_dir: Path, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    """Start every process with its output in log_dir/<name>.log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    running = []
    for spec in specs:
        log = (log_dir / f"{spec.name}.log").open("ab")
        running.append(
            subprocess.Popen(
                spec.argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return running


def wait_healthy(specs: list[Process], running: list[subprocess.Popen[bytes]],
                 timeout: float) -> str | None:  # fmt: skip
    """Wait until every health check answers; return the name of one that died or hung."""
    pending = {spec.name: spec for spec in specs}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for spec, proc in zip(specs, running, strict=True):
            if spec.name not in pending:
                continue
            if proc.poll() is not None:
                return spec.name
            if _healthy(spec.health_url):
                print(f"  {spec.name} is up")
                del pending[spec.name]
        time.sleep(0.5)
    return next(iter(pending), None)


WARM_UP_TEXTS = ("你好", "刚才刷卡显示失败，顾客说扣钱了", "不对，金额是380")


def warm_up(rasa_url: str, token: str, client: httpx.Client | None = None) -> float:
    """Send Rasa a few throwaway turns so the first merchant does not pay for graph tracing.

    TensorFlow builds DIET's graph on its first prediction (a few hundred ms on 2 cores).
    Parses warm the NLU; one REST conversation under a throwaway sender warms the policies.
    Returns the seconds it took.
    """
    began = time.monotonic()
    with client or httpx.Client(timeout=30) as http:
        for text in WARM_UP_TEXTS:
            http.post(
                f"{rasa_url}/model/parse", params={"token": token}, json={"text": text}
            ).raise_for_status()
        sender = f"dropdesk-warm-up-{secrets.token_hex(4)}"
        http.post(
            f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "你好"}
        ).raise_for_status()
    return time.monotonic() - began


def stop(running: list[subprocess.Popen[bytes]]) -> None:
    """Stop every process group, politely first; a second Ctrl-C or kill cannot cut this short."""
    stopping = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM)
    previous = [signal.signal(signum, signal.SIG_IGN) for signum in stopping]
    for proc in running:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    for signum, handler in zip(stopping, previous, strict=True):
        signal.signal(signum, handler)


def describe_exit(code: int) -> str:
    """'killed by SIGKILL' for a negative return code, 'exit code 3' otherwise."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Restart a process that dies, as a supervisor would: after 1 s, then 2 s, 4 s, ...
    up to max_delay for one that keeps dying; one that stayed up stable_after seconds starts
    again from first_delay. Every death and restart is said (say), with the reason.

    `running` is updated in place, so whoever stops the processes stops the new ones.
    """

    def __init__(
        self,
        specs: list[Process],
        running: list[subprocess.Popen[bytes]],
        log_dir: Path,
        env: dict[str, str],
        *,
        say: Callable[[str], object] = print,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs, self.running, self.log_dir, self.env = specs, running, log_dir, env
        self.say, self.clock = say, clock
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        now = clock()
        self.started = {spec.name: now for spec in specs}
        self.failures = {spec.name: 0 for spec in specs}
        self.due: dict[str, float] = {}  # name -> when to start it again
        self.coming_back: set[str] = set()  # restarted, health check not answered yet
        self.restarts = {spec.name: 0 for spec in specs}

    def delay(self, failures: int) -> float:
        """Seconds to wait before the restart after `failures` deaths in a row (0-based)."""
        return float(min(self.max_delay, self.first_delay * 2 ** min(failures, 30)))

    def poll(self) -> None:
        """Notice deaths, start what is due, say when a restarted process answers again."""
        now = self.clock()
        for index, spec in enumerate(self.specs):
            name, proc = spec.name, self.running[index]
            if name in self.due:
                if now >= self.due[name]:
                    del self.due[name]
                    self.running[index] = start([spec], self.log_dir, self.env)[0]
                    self.started[name] = now
                    self.restarts[name] += 1
                    self.coming_back.add(name)
                    self.say(f"  {name} restarted (pid {self.running[index].pid})")
                continue
            code = proc.poll()
            if code is None:
                if name in self.coming_back and _healthy(spec.health_url):
                    self.coming_back.discard(name)
                    self.say(f"  {name} is up again")
                continue
            with contextlib.suppress(OSError):  # whatever it left behind in its group
                os.killpg(proc.pid, signal.SIGKILL)
            if now - self.started[name] >= self.stable_after:
                self.failures[name] = 0
            wait = self.delay(self.failures[name])
            self.failures[name] += 1
            self.due[name] = now + wait
            self.coming_back.discard(name)
            self.say(
                f"  {name} stopped ({describe_exit(code)}); restarting it in {wait:g} s"
                f" (see {self.log_dir / name}.log)"
            )


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for the children: the service URL and token for the action server."""
    env = dict(os.environ)
    env["DROPDESK_SERVICE_URL"] = f"http://{settings.host}:{settings.port}"
    env["DROPDESK_INTERNAL_TOKEN"] = settings.internal_token
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


@dataclass
class Stack:
    """A running DropDesk on free ports: for end-to-end tests and benchmarks."""

    settings: Settings
    base_url: str
    log_dir: Path
    specs: list[Process]
    running: list[subprocess.Popen[bytes]]
    env: dict[str, str]

    @property
    def pids(self) -> dict[str, int]:
        return {s.name: p.pid for s, p in zip(self.specs, self.running, strict=True)}

    def kill(self, name: str) -> None:
        """kill -9 one process (and its group), start it again and wait until it answers."""
        index = next(i for i, spec in enumerate(self.specs) if spec.name == name)
        proc = self.running[index]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        spec = self.specs[index]
        self.running[index] = start([spec], self.log_dir, self.env)[0]
        failed = wait_healthy([spec], [self.running[index]], timeout=300)
        if failed:
            raise RuntimeError(f"{failed} did not come back")

    @contextmanager
    def outage(self, name: str) -> Iterator[None]:
        """Stop one process for the duration of the block, then start it again."""
        index = next(i for i, spec in enumerate(self.specs) if spec.name == name)
        stop([self.running[index]])
        try:
            yield
        finally:
            spec = self.specs[index]
            self.running[index] = start([spec], self.log_dir, self.env)[0]
            failed = wait_healthy([spec], [self.running[index]], timeout=300)
            if failed:
                raise RuntimeError(f"{failed} did not come back")


# Ports handed out by this process (two callers must not get the same one before either binds).
_HANDED_OUT: set[int] = set()
# Below Linux's ephemeral range (32768-60999 by default). A port the kernel picks (bind to 0)
# comes from that range, from which every outgoing connection also takes its local port: the
# port could be taken by a connection between this pick and the server's own bind (seen once in
# a fresh `make test`: a test server failed to bind and its client reached another server).
PORTS = range(20000, 32000)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on, and that no outgoing connection takes."""
    rng = secrets.SystemRandom()
    for _ in range(500):
        port = rng.choice(PORTS)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextmanager
def local_stack(
    workdir: Path,
    model: Path,
    bot_venv: Path,
    timeout: float = 300,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Migrate and seed a fresh SQLite store, start all three processes, stop them after."""
    from dropdesk import demo
    from dropdesk.database.core import session_scope
    from dropdesk.database.migrate import upgrade
    from dropdesk.timezone import now_shanghai

    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    settings = Settings(
        env="test",
        database_url=f"sqlite:///{workdir / 'dropdesk.db'}",
        secret_key=secrets.token_urlsafe(32),
        internal_token=secrets.token_urlsafe(32),
        rasa_token=secrets.token_urlsafe(32),
        port=port,
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        rasa_timeout_seconds=30,
    )
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())
    endpoints = write_endpoints(
        workdir / "endpoints.yml", actions_port, tracker_db=workdir / "rasa-tracker.db"
    )
    env = (
        child_env(settings)
        | {
            "DROPDESK_ENV": "test",
            "DROPDESK_DATABASE_URL": settings.database_url,
            "DROPDESK_SECRET_KEY": settings.secret_key,
            "DROPDESK_RASA_TOKEN": settings.rasa_token,
            "DROPDESK_PORT": str(port),
            "DROPDESK_RASA_URL": settings.rasa_url,
            "DROPDESK_RASA_TIMEOUT_SECONDS": "30",
        }
        | (extra_env or {})
    )
    specs = processes(settings, model, bot_venv, actions_port=actions_port, endpoints=endpoints)
    log_dir = workdir / "log"
    running = start(specs, log_dir, env)
    try:
        failed = wait_healthy(specs, running, timeout=timeout)
        if failed:
            log = (log_dir / f"{failed}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{failed} did not start:\n{log}")
        warm_up(settings.rasa_url, settings.rasa_token)
        yield Stack(
            settings=settings,
            base_url=f"http://127.0.0.1:{port}",
            log_dir=log_dir,
            specs=specs,
            running=running,
            env=env,
        )
    finally:
        stop(running)


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1:port in a thread (tests, benchmarks)."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))

    def run() -> None:
        # uvicorn exits with sys.exit when it cannot bind; the caller raises below instead.
        with contextlib.suppress(SystemExit):
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    if not server.started:  # never talk to whatever else answers on that port
        server.should_exit = True
        thread.join(timeout=5)
        raise RuntimeError(f"could not serve on 127.0.0.1:{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
