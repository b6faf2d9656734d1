"""Load: concurrent merchants playing whole diagnosis conversations, through the chat API and
straight to Rasa's own REST channel, on one and on two Rasa processes (issue 17, "Load").

Usage: python bench/load_bench.py MODEL [--duration 60] [--levels 50,100,200] [--think 5]
                                        [--rasa 1,2] [--paths api,direct] [--profile DIR]
                                        [--store sqlite|postgres]

Every virtual merchant plays conversations of tests/e2e/conversations/suite.yml (four merchants,
their store loaded as of now) one after another: a new session, then every turn of the script,
with a think time of 0.5-1.5 x --think before each message (so the merchants never march in
step). A level runs --duration seconds after a ramp of one think time (the merchants start
spread over it); the figures count turns started inside that window, and the turns still in
flight at its end are waited for (they count too). Everything listens on 127.0.0.1 only.

"api" is the chat API (POST /api/v1/sessions/{id}/messages: the service stores the message,
asks Rasa through bot/channels.py, stores the replies); "direct" is Rasa's stock REST channel
(/webhooks/rest/webhook) driven the same way, in the same run, on the same processes. Both
paths open their sessions through the service (the action server reads the session), outside
the timed turns. Two Rasa processes sit behind a round-robin TCP balancer, per connection, as a
Kubernetes Service spreads them; both share the tracker store, as replicas share PostgreSQL.
The chat rate limit is off (DROPDESK_CHAT_RATE_PER_MINUTE=0): one merchant number is shared by
many virtual merchants here, which a real merchant never is.

--store postgres runs the production profile's storage instead of the embedded default: the
service's database and Rasa's tracker store on the machine's PostgreSQL (--postgres, two fresh
databases, dropped afterwards), Rasa's RedisLockStore and the service's pub/sub on the machine's
Redis (--redis).

--profile DIR runs py-spy (if installed in .venv) on Rasa and on the service during the
highest level of each stack and writes flame graphs (SVG) and top-function lists there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml

from dropdesk import messages
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT, Settings
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.devrun import (
    Process,
    child_env,
    free_port,
    processes,
    start,
    stop,
    wait_healthy,
    warm_up,
    write_endpoints,
)
from dropdesk.timezone import now_shanghai
from tests.e2e import conversation_store

SUITE = ROOT / "tests" / "e2e" / "conversations" / "suite.yml"
PATHS = ("api", "direct")
# The answers that mean the service did not get the bot's turn in time, or at all.
NOT_ANSWERED = (messages.BOT_UNAVAILABLE, messages.BOT_ON_ITS_WAY)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- processes ----------------------------------------------------------------------------


@dataclass
class BenchStack:
    settings: Settings
    base_url: str
    rasa_urls: list[str]  # each Rasa process, for warm-up
    rasa_front: str  # what the service and the direct path talk to (the balancer for two)
    specs: list[Process]
    running: list[subprocess.Popen[bytes]]
    log_dir: Path

    @property
    def pids(self) -> dict[str, int]:
        return {s.name: p.pid for s, p in zip(self.specs, self.running, strict=True)}


def balancer_process(port: int, backends: list[str]) -> Process:
    return Process(
        "balancer",
        [sys.executable, str(Path(__file__).resolve()), "--balance", str(port), *backends],
        f"http://127.0.0.1:{port}/version",
    )


@dataclass(frozen=True)
class Storage:
    """Where the stack keeps its state: SQLite files in the work folder (the embedded default),
    or PostgreSQL and Redis (the production profile's)."""

    kind: str = "sqlite"
    postgres: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    redis: str = "redis://127.0.0.1:6379/0"


@contextmanager
def fresh_databases(admin_url: str, names: list[str]) -> Iterator[list[str]]:
    """New PostgreSQL databases beside admin_url's, dropped on the way out."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [make_url(admin_url).set(database=name).render_as_string(hide_password=False)
               for name in names]  # fmt: skip
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def production_storage(path: Path, actions_port: int, tracker_url: str, redis_url: str,
                       prefix: str) -> Path:  # fmt: skip
    """docker/endpoints.yml's tracker and lock stores, on this machine's PostgreSQL and Redis."""
    from sqlalchemy.engine import make_url

    endpoints = yaml.safe_load((ROOT / "docker" / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{actions_port}/webhook"
    pg = make_url(tracker_url)
    endpoints["tracker_store"].update(url=pg.host, port=pg.port, db=pg.database,
                                      username=pg.username, password=pg.password or "")  # fmt: skip
    redis = httpx.URL(redis_url)
    endpoints["lock_store"].update(url=redis.host, port=redis.port or 6379, key_prefix=prefix)
    path.write_text(yaml.safe_dump(endpoints, allow_unicode=True))
    return path


@contextmanager
def bench_stack(workdir: Path, model: Path, rasa_count: int, store: dict[str, Any],
                storage: Storage = Storage()) -> Iterator[BenchStack]:  # fmt: skip
    """The service, the action server and rasa_count Rasa processes on free ports."""
    with ExitStack() as cleanup:
        if storage.kind == "postgres":
            tag = secrets.token_hex(4)
            service_db, tracker_db = cleanup.enter_context(
                fresh_databases(storage.postgres, [f"dd_load_{tag}", f"rasa_load_{tag}"])
            )
        else:
            tag, service_db, tracker_db = "", f"sqlite:///{workdir / 'dropdesk.db'}", ""
        yield cleanup.enter_context(
            _bench_stack(workdir, model, rasa_count, store, storage, service_db, tracker_db, tag)
        )


@contextmanager
def _bench_stack(workdir: Path, model: Path, rasa_count: int, store: dict[str, Any],
                 storage: Storage, service_db: str, tracker_db: str, tag: str,
                 ) -> Iterator[BenchStack]:  # fmt: skip
    port, actions_port = free_port(), free_port()
    rasa_ports = [free_port() for _ in range(rasa_count)]
    front_port = rasa_ports[0] if rasa_count == 1 else free_port()
    front = f"http://127.0.0.1:{front_port}"
    settings = Settings(
        env="test",
        database_url=service_db,
        pubsub_url=storage.redis if storage.kind == "postgres" else "memory://",
        secret_key=secrets.token_urlsafe(32),
        internal_token=secrets.token_urlsafe(32),
        rasa_token=secrets.token_urlsafe(32),
        port=port,
        rasa_url=front,
        rasa_timeout_seconds=30,
    )
    upgrade(settings.database_url)
    with session_scope(settings.database_url) as db:
        conversation_store.load(db_session=db, store=store, now=now_shanghai())
    if storage.kind == "postgres":
        endpoints = production_storage(workdir / "endpoints.yml", actions_port, tracker_db,
                                       storage.redis, prefix=f"load{tag}")  # fmt: skip
    else:
        endpoints = write_endpoints(
            workdir / "endpoints.yml", actions_port, tracker_db=workdir / "rasa-tracker.db"
        )
    env = child_env(settings) | {
        "DROPDESK_ENV": "test",
        "DROPDESK_DATABASE_URL": settings.database_url,
        "DROPDESK_PUBSUB_URL": settings.pubsub_url,
        "DROPDESK_SECRET_KEY": settings.secret_key,
        "DROPDESK_RASA_TOKEN": settings.rasa_token,
        "DROPDESK_PORT": str(port),
        "DROPDESK_RASA_URL": front,
        "DROPDESK_RASA_TIMEOUT_SECONDS": "30",
        "DROPDESK_CHAT_RATE_PER_MINUTE": "0",
        # Suite conversations that escalate expect a person on duty at any hour.
        "DROPDESK_WORKING_HOURS": "00:00-24:00",
    }
    actions, rasa, service = processes(
        settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{rasa_ports[0]}"}),
        model, ROOT / ".venv-bot", actions_port=actions_port, endpoints=endpoints,
    )  # fmt: skip
    specs = [actions]
    for n, rasa_port in enumerate(rasa_ports, start=1):
        argv = list(rasa.argv)
        argv[argv.index("--port") + 1] = str(rasa_port)
        health = rasa.health_url.replace(f":{rasa_ports[0]}/", f":{rasa_port}/")
        specs.append(Process(f"rasa-{n}" if rasa_count > 1 else "rasa", argv, health))
    if rasa_count > 1:
        specs.append(balancer_process(front_port, [f"127.0.0.1:{p}" for p in rasa_ports]))
    specs.append(service)
    log_dir = workdir / "log"
    running = start(specs, log_dir, env)
    try:
        failed = wait_healthy(specs, running, timeout=600)
        if failed:
            log = (log_dir / f"{failed}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{failed} did not start:\n{log}")
        rasa_urls = [f"http://127.0.0.1:{p}" for p in rasa_ports]
        for url in rasa_urls:
            warm_up(url, settings.rasa_token)
        yield BenchStack(settings, f"http://127.0.0.1:{port}", rasa_urls, front, specs, running,
                         log_dir)  # fmt: skip
    finally:
        stop(running)


# --- the round-robin balancer (its own process: --balance) ---------------------------------


async def balance(port: int, backends: list[str]) -> None:
    """Per connection, each to the next backend (the next again if one refuses)."""
    turn = 0

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        for _ in backends:
            host, _, bport = backends[turn % len(backends)].partition(":")
            turn += 1
            try:
                up_reader, up_writer = await asyncio.open_connection(host, int(bport))
            except OSError:
                continue
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
            return
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# --- CPU per process from /proc -----------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            children = task / "children"
            with suppress(OSError):
                todo += [int(c) for c in children.read_text().split()]
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def server_pids() -> dict[str, int]:
    """This machine's PostgreSQL postmaster (its backends are its children) and redis-server,
    which share the cores with the stack under the production profile's storage. A backend
    that exits within a level takes its CPU with it; the stack's pools keep theirs open."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid, comm = int(entry.name), _comm(int(entry.name))
        if comm == "redis-server":
            found.setdefault("redis", pid)
        elif comm == "postgres" and (fields := _stat(pid)) and _comm(int(fields[1])) != "postgres":
            found["postgres"] = pid
    return found


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU of a process (and its descendants), in seconds."""
    total = 0
    for p in _descendants(pid) if children else [pid]:
        if fields := _stat(p):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


# --- the merchants --------------------------------------------------------------------------


@dataclass
class Level:
    path: str
    merchants: int
    latencies: list[float] = field(default_factory=list)  # ms, turns started in the window
    errors: list[str] = field(default_factory=list)
    window: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core over the window
    conversations: int = 0

    def q(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.window if self.window else 0.0


async def post(http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str]) -> Any:
    """POST JSON (or nothing), raise on an error status, return the JSON answer."""
    async with http.post(url, json=body, headers=headers) as response:
        response.raise_for_status()
        return json.loads(await response.read())


async def merchant(
    n: int,
    level: Level,
    stack: BenchStack,
    convos: list[dict[str, Any]],
    tokens: dict[str, str],
    think: float,
    window: tuple[float, float],
    http: aiohttp.ClientSession,
) -> None:
    start, end = window
    loop = asyncio.get_running_loop()
    rng = random.Random(n)
    # Start spread over one think time, so the first messages do not all arrive at once.
    await asyncio.sleep(rng.uniform(0, think))
    index = n
    while loop.time() < end:
        convo = convos[index % len(convos)]
        index += len(convos) // 7 + 1  # a merchant walks through the suite in a stride
        headers = {"Authorization": f"Bearer {tokens[str(convo['merchant'])]}"}
        try:
            sid = (await post(http, f"{stack.base_url}/api/v1/sessions", None, headers)
                   )["session_id"]  # fmt: skip
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            if loop.time() >= start:
                level.errors.append(f"session: {exc!r}"[:200])
            await asyncio.sleep(think)
            continue
        if start <= loop.time() < end:
            level.conversations += 1
        for text in convo["turns"]:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            began = loop.time()
            if began >= end:
                return
            error = None
            try:
                if level.path == "api":
                    answer = await post(http, f"{stack.base_url}/api/v1/sessions/{sid}/messages",
                                        {"text": str(text)}, headers)  # fmt: skip
                    said = [m.get("text", "") for m in answer["messages"]]
                    if any(s in NOT_ANSWERED for s in said):
                        error = f"not answered: {said}"
                else:
                    body = {"sender": sid, "message": str(text)}
                    await post(http, f"{stack.rasa_front}/webhooks/rest/webhook", body, {})
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                error = repr(exc)
            took = (loop.time() - began) * 1000
            if began >= start:
                level.latencies.append(took)
                if error:
                    level.errors.append(error[:200])
            if error:
                break


async def run_level(stack: BenchStack, path: str, merchants: int, think: float,
                    duration: float, convos: list[dict[str, Any]],
                    tokens: dict[str, str]) -> Level:  # fmt: skip
    level = Level(path, merchants)
    loop = asyncio.get_running_loop()
    start = loop.time() + think  # the ramp: every merchant has begun by then
    end = start + duration
    pids = stack.pids | {"bench": os.getpid()}  # the bench alone: the others are its children
    if stack.settings.database_url.startswith("postgresql"):
        pids |= server_pids()
    # aiohttp: the driver shares the two cores with what it measures, and httpx spent ten
    # times its CPU per request (2 ms, a tenth of a Rasa turn).
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60, connect=10),
        connector=aiohttp.TCPConnector(limit=2 * merchants + 10),
    ) as http:
        tasks = [asyncio.create_task(merchant(n, level, stack, convos, tokens, think,
                                              (start, end), http))
                 for n in range(merchants)]  # fmt: skip
        await asyncio.sleep(max(0.0, start - loop.time()))
        before = {name: cpu_seconds(pid, name != "bench") for name, pid in pids.items()}
        wall = time.monotonic()
        await asyncio.sleep(max(0.0, end - loop.time()))
        after = {name: cpu_seconds(pid, name != "bench") for name, pid in pids.items()}
        level.window = time.monotonic() - wall
        await asyncio.gather(*tasks)  # the turns in flight at the end
    level.cpu = {name: 100 * (after[name] - before[name]) / level.window for name in pids}
    return level


# --- profiling ------------------------------------------------------------------------------


def start_profiles(stack: BenchStack, out: Path, seconds: float, tag: str
                   ) -> list[subprocess.Popen[bytes]]:  # fmt: skip
    spy = shutil.which("py-spy", path=str(ROOT / ".venv" / "bin")) or shutil.which("py-spy")
    if not spy:
        print("  (py-spy not installed: no profile)")
        return []
    out.mkdir(parents=True, exist_ok=True)
    started = []
    for name, pid in stack.pids.items():
        if not (name.startswith("rasa") or name == "service"):
            continue
        for fmt, ext in (("flamegraph", "svg"), ("raw", "txt")):
            started.append(subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                 "--rate", "50", "--format", fmt, "--nonblocking",
                 "--output", str(out / f"{tag}-{name}.{ext}")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
    return started


# --- report ---------------------------------------------------------------------------------


def row(level: Level) -> str:
    cpu = ", ".join(f"{k} {v:.0f}%" for k, v in level.cpu.items())
    return (f"  {level.path:6s} {level.merchants:4d} merchants: {len(level.latencies):5d} turns "
            f"{level.throughput:5.1f} turns/s  p50 {level.q(50):6.0f} ms  p95 {level.q(95):6.0f} "
            f"ms  p99 {level.q(99):6.0f} ms  errors {len(level.errors)}  cpu: {cpu}")  # fmt: skip


def table(results: dict[tuple[int, str, int], Level], levels: list[int], rasa_counts: list[int],
          paths: list[str]) -> str:  # fmt: skip
    def cell(level: Level | None) -> str:
        if level is None:
            return "—"
        return (f"{level.throughput:.1f}/s · {level.q(50):.0f} / {level.q(95):.0f} / "
                f"{level.q(99):.0f} ms · {len(level.errors)} err")  # fmt: skip

    columns = [(r, p) for r in rasa_counts for p in paths]
    names = {"api": "chat API", "direct": "Rasa-direct"}
    lines = ["| merchants | " + " | ".join(f"{r} Rasa, {names[p]}" for r, p in columns)
             + (" | " + " | ".join(f"{r} Rasa: API/direct" for r in rasa_counts)
                if set(paths) == set(PATHS) else "") + " |"]  # fmt: skip
    lines.append("|" + "---|" * (1 + len(columns) + (len(rasa_counts) if len(paths) == 2 else 0)))
    for merchants in levels:
        cells = [cell(results.get((r, p, merchants))) for r, p in columns]
        if set(paths) == set(PATHS):
            for r in rasa_counts:
                a, d = results.get((r, "api", merchants)), results.get((r, "direct", merchants))
                cells.append(
                    f"{a.throughput / d.throughput:.2f}x thr, p95 {a.q(95) / d.q(95):.2f}x"
                    if a and d and d.throughput
                    else "—"
                )
        lines.append(f"| {merchants} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def work(keep: Path | None, tmp: str, rasa_count: int) -> Path:
    """Where a stack keeps its databases and logs: kept under --keep, else thrown away."""
    if keep is None:
        return Path(tmp)
    folder = keep / f"rasa{rasa_count}-{time.strftime('%H%M%S')}"
    folder.mkdir(parents=True)
    return folder


async def bench(args: argparse.Namespace) -> None:
    suite = yaml.safe_load(SUITE.read_text(encoding="utf-8"))
    store = conversation_store.read(SUITE.parent / suite["store"])
    convos = [c for c in suite["conversations"] if c.get("turns")]
    levels = [int(x) for x in args.levels.split(",")]
    rasa_counts = [int(x) for x in args.rasa.split(",")]
    paths = [p for p in args.paths.split(",") if p in PATHS]
    results: dict[tuple[int, str, int], Level] = {}
    storage = Storage(args.store, args.postgres, args.redis)
    where = ("PostgreSQL + Redis" if storage.kind == "postgres"
             else "SQLite files, in-process pub/sub")  # fmt: skip
    print(
        f"load: {len(convos)} suite conversations, {args.think:g} s think time, "
        f"{args.duration:g} s per level after a {args.think:g} s ramp, {os.cpu_count()} cores, "
        f"{where}"
    )
    for rasa_count in rasa_counts:
        with (
            tempfile.TemporaryDirectory() as tmp,
            bench_stack(work(args.keep, tmp, rasa_count), args.model.resolve(), rasa_count,
                        store, storage) as stack,
        ):  # fmt: skip
            tokens = {str(m["merchant_no"]): issue_merchant_token(
                merchant_no=str(m["merchant_no"]), settings=stack.settings)
                for m in store["merchants"]}  # fmt: skip
            print(f"{rasa_count} Rasa process(es): " + ", ".join(
                f"{k} pid {v}" for k, v in stack.pids.items()))  # fmt: skip
            for i, merchants in enumerate(levels):
                # Alternate which path goes first, so neither always meets the warmer store.
                order = paths if i % 2 == 0 else list(reversed(paths))
                for path in order:
                    spies = []
                    if args.profile and merchants == max(levels) and path == "api":
                        spies = start_profiles(
                            stack,
                            args.profile,
                            min(args.duration, 60),
                            f"rasa{rasa_count}-{path}-{merchants}",
                        )
                    level = await run_level(stack, path, merchants, args.think, args.duration,
                                            convos, tokens)  # fmt: skip
                    for spy in spies:
                        spy.wait(timeout=120)
                    results[rasa_count, path, merchants] = level
                    print(row(level), flush=True)
                    if level.errors:
                        print(f"    first errors: {level.errors[:3]}")
    print()
    print("turns/s · p50 / p95 / p99 per turn · errors; ratios are chat API over Rasa-direct")
    print(table(results, levels, rasa_counts, paths))
    top = max(levels)
    for r in rasa_counts:
        a, d = results.get((r, "api", top)), results.get((r, "direct", top))
        if a is None:
            continue
        verdict = "met" if not a.errors and a.q(95) <= 500 else "NOT met"
        print(
            f"{r} Rasa, {top} merchants through the chat API: {len(a.errors)} errors, "
            f"p95 {a.q(95):.0f} ms (target 0 errors, p95 <= 500 ms): {verdict}"
        )
        if d is not None and d.throughput:
            overhead = 1 - a.throughput / d.throughput
            print(f"  throughput overhead vs Rasa-direct: {overhead:+.1%} (target <= 15%): "
                  f"{'met' if overhead <= 0.15 else 'NOT met'}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([
            {"rasa": r, "path": p, "merchants": m, "turns": len(lv.latencies),
             "turns_per_s": lv.throughput, "p50": lv.q(50), "p95": lv.q(95), "p99": lv.q(99),
             "errors": len(lv.errors), "cpu_percent": lv.cpu, "conversations": lv.conversations}
            for (r, p, m), lv in results.items()], indent=1))  # fmt: skip
        print(f"figures: {args.json}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--balance":
        asyncio.run(balance(int(sys.argv[2]), sys.argv[3:]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("--duration", type=float, default=60, help="seconds per level")
    parser.add_argument("--levels", default="50,100,200", help="concurrent merchants")
    parser.add_argument("--think", type=float, default=5.0, help="seconds between messages")
    parser.add_argument("--rasa", default="1,2", help="numbers of Rasa processes")
    parser.add_argument("--paths", default="api,direct")
    parser.add_argument("--profile", type=Path, help="py-spy output folder (highest level)")
    parser.add_argument("--keep", type=Path, help="keep each stack's databases and logs here")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "load.json")
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default=Storage.postgres, help="an existing database")
    parser.add_argument("--redis", default=Storage.redis)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
