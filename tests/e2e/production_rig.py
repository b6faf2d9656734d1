"""The production profile on one machine, for tests/e2e/test_production_stack.py.

Every piece is a real process: a PostgreSQL and a Redis of the test's own (initdb + pg_ctl and
redis-server on free ports, so they can be stopped and started without touching the machine's
shared ones), `dropdesk migrate` as a job, two `dropdesk serve` processes with
DROPDESK_ENV=production, two Rasa servers started as docker/bot.Dockerfile starts them
(docker/endpoints.yml, docker/credentials.yml, --auth-token, the trained model) and the action
server. In front of the Rasa servers and of the services sits a round-robin HTTP balancer, as a
Kubernetes Service or compose's DNS would: each request to the next backend, the next one again
when a backend refuses the connection, 502 when one dies mid-request.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dropdesk.config import ROOT
from dropdesk.devrun import Process, free_port, start, stop, wait_healthy

# --- PostgreSQL and Redis of the test's own ----------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin that has initdb and pg_ctl, if any."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    found = [p for p in found if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    return sorted(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)[-1] \
        if found else None  # fmt: skip


def missing_binaries() -> str | None:
    """Why the rig cannot run here, or None."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin"
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and no runuser to run initdb as another user"
    return None


class Postgres:
    """A throwaway PostgreSQL cluster: a password user, TCP on 127.0.0.1 only, fsync off."""

    def __init__(self, user: str = "dropdesk", password: str = "") -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bindir = bindir
        self.user, self.password = user, password or os.urandom(12).hex()
        self.port = free_port()
        # Not under pytest's tmp_path: that is 0700 root, and PostgreSQL refuses to run as root.
        self.root = Path(tempfile.mkdtemp(prefix="dropdesk-pg-"))
        self.data = self.root / "data"
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = "postgres"
            shutil.chown(self.root, user=self.run_as)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            shutil.chown(pwfile, user=self.run_as)
        self._run("initdb", "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C.UTF-8")  # fmt: skip
        pwfile.unlink()

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bindir / tool), *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        # fast: what a restart by an orchestrator does (open sessions are cut).
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """A redis-server of the test's own on a free port, as compose runs it (nothing saved)."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"],
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                                  capture_output=True, text=True)  # fmt: skip
            if done.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.proc = None


# --- the round-robin balancer ------------------------------------------------------------------


@dataclass
class Balancer:
    """Round robin per request over backends, as a Service spreads connections."""

    name: str
    backends: list[str]
    port: int = field(default_factory=free_port)
    served: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    # (backend, the JSON body's sender if any) per request answered by a backend.
    log: list[tuple[str, str | None]] = field(default_factory=list)
    _next: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        # No kept-alive connections: a killed backend is a refused connection, never a stale one.
        limits = httpx.Limits(max_keepalive_connections=0)
        clients: dict[int, httpx.AsyncClient] = {}

        async def forward(request: Request) -> Response:
            loop = id(asyncio.get_running_loop())
            if loop not in clients:
                clients[loop] = httpx.AsyncClient(timeout=180, limits=limits)
            http = clients[loop]
            body = await request.body()
            headers = {k: v for k, v in request.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}  # fmt: skip
            sender = _sender(body)
            for _ in range(len(self.backends)):
                backend = self.backends[self._next % len(self.backends)]
                self._next += 1
                self.in_flight[backend] += 1
                try:
                    answer = await http.request(
                        request.method, backend + request.url.path,
                        params=request.query_params, content=body, headers=headers,
                    )  # fmt: skip
                except httpx.ConnectError:
                    continue  # down: the next one, as a proxy's next-upstream-on-error does
                except httpx.HTTPError:
                    return Response(b"bad gateway", status_code=502)
                finally:
                    self.in_flight[backend] -= 1
                self.served[backend] += 1
                self.log.append((backend, sender))
                drop = ("content-encoding", "content-length", "transfer-encoding", "connection")
                out = {k: v for k, v in answer.headers.items() if k.lower() not in drop}
                return Response(answer.content, status_code=answer.status_code, headers=out)
            return Response(b"no backend answered", status_code=502)

        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


def _sender(body: bytes) -> str | None:
    import json

    with contextlib.suppress(ValueError, UnicodeDecodeError):
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("sender"), str):
            return str(data["sender"])
    return None


# --- the processes -----------------------------------------------------------------------------


def production_endpoints(path: Path, postgres: Postgres, redis: Redis, actions_port: int) -> Path:
    """docker/endpoints.yml as it ships, with compose's host names replaced by this machine's
    ports; everything else (SQL tracker store, Redis lock store and its socket timeout, the
    ${POSTGRES_USER} / ${POSTGRES_PASSWORD} placeholders Rasa fills from the environment) kept."""
    endpoints = yaml.safe_load((ROOT / "docker" / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
    endpoints["tracker_store"].update(url="127.0.0.1", port=postgres.port)
    endpoints["lock_store"].update(url="127.0.0.1", port=redis.port)
    path.write_text(yaml.safe_dump(endpoints, allow_unicode=True))
    return path


@dataclass
class ProductionStack:
    """Everything running; the names of `specs` are actions, rasa-1, rasa-2, service-a, -b."""

    postgres: Postgres
    redis: Redis
    rasa_lb: Balancer
    service_lb: Balancer
    specs: list[Process]
    running: list[subprocess.Popen[bytes]]
    env: dict[str, dict[str, str]]
    log_dir: Path
    database_url: str
    secret_key: str
    rasa_token: str
    urls: dict[str, str]

    def index(self, name: str) -> int:
        return next(i for i, spec in enumerate(self.specs) if spec.name == name)

    def proc(self, name: str) -> subprocess.Popen[bytes]:
        return self.running[self.index(name)]

    def signal(self, name: str, signum: int) -> None:
        os.killpg(self.proc(name).pid, signum)

    def kill(self, name: str) -> None:
        """kill -9 (the whole process group: nothing is flushed on the way out)."""
        proc = self.proc(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)

    def start(self, name: str) -> None:
        """Start a stopped or killed process again, as the orchestrator would."""
        index = self.index(name)
        assert self.running[index].poll() is not None, f"{name} is still running"
        self.running[index] = start([self.specs[index]], self.log_dir, self.env[name])[0]

    def wait_up(self, *names: str, timeout: float = 300) -> None:
        specs = [self.specs[self.index(n)] for n in names]
        failed = wait_healthy(specs, [self.proc(n) for n in names], timeout=timeout)
        if failed:
            raise RuntimeError(f"{failed} did not come back:\n{self.tail(failed)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def rasa_warm_up(url: str, token: str) -> None:
    """NLU and policies warmed on throwaway input (Rasa's `rest` channel is off here)."""
    with httpx.Client(timeout=120) as http:
        for text in ("你好", "刚才刷卡显示失败，顾客说扣钱了"):
            http.post(f"{url}/model/parse", params={"token": token}, json={"text": text})
        http.post(f"{url}/webhooks/dropdesk/webhook",
                  json={"sender": f"warm-up-{os.urandom(4).hex()}", "message": "你好"})  # fmt: skip


@contextmanager
def serve_app(app: Any, port: int) -> Iterator[None]:
    from dropdesk.devrun import serve_in_thread

    with serve_in_thread(app, port):
        yield


def stop_all(stack_running: list[subprocess.Popen[bytes]]) -> None:
    stop(stack_running)
