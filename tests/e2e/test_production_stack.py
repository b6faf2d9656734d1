"""The production profile on this machine, and its faults, each with what the merchant sees.

One stack for the module (tests/e2e/production_rig.py): a PostgreSQL and a Redis of the test's
own, `dropdesk migrate` run as the job (twice at once), two `dropdesk serve` processes with
DROPDESK_ENV=production and real secrets, two Rasa servers as the bot image starts them
(docker/endpoints.yml, docker/credentials.yml, --auth-token, the trained model), the action
server; round-robin balancers in front of the Rasa servers and of the services.

Every fault test leaves the stack whole again (the process restarted, the database or Redis
back), so the tests stay independent of their order.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from dropdesk import demo, messages
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import ROOT, Settings
from dropdesk.conversation.models import ChatRequest
from dropdesk.database.core import get_engine, session_scope
from dropdesk.devrun import Process, free_port, start, stop, wait_healthy
from dropdesk.timezone import now_shanghai
from tests.e2e.conftest import BOT_VENV, MODEL
from tests.e2e.production_rig import (
    Balancer,
    Postgres,
    ProductionStack,
    Redis,
    missing_binaries,
    production_endpoints,
    rasa_warm_up,
    serve_app,
)

pytestmark = pytest.mark.rasa

# The duplicate-charge form of tests/e2e/test_durable.py: four turns to a diagnosis.
SCRIPT = ("顾客说同一张卡被扣了两次钱", "没有单号", "五十分钟前", "199元")
RASA_TIMEOUT = 8.0  # how long a merchant's request waits for the bot
TURN_LIMIT = 15.0  # a turn's longest life; a request silent for this + 10 s is taken over
SERVICES = ("service-a", "service-b")
RASAS = ("rasa-1", "rasa-2")


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionStack]:
    if not MODEL or not Path(MODEL).exists():
        if os.environ.get("DROPDESK_REQUIRE_RASA") == "1":
            pytest.fail(f"trained model not found: {MODEL!r}")
        pytest.skip("no trained Rasa model: run through `make test` (DROPDESK_TEST_MODEL)")
    missing = missing_binaries()
    if missing:
        pytest.skip(missing)
    workdir = tmp_path_factory.mktemp("production")
    log_dir = workdir / "log"
    log_dir.mkdir()
    postgres = Postgres()
    redis = Redis(log_dir / "redis.log")
    running: list[subprocess.Popen[bytes]] = []
    try:
        postgres.start()
        redis.start()
        admin = create_engine(postgres.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE dropdesk"))
            # What compose's init script does for Rasa's tracker store.
            conn.execute(text((ROOT / "docker" / "init-rasa-db.sql").read_text().strip(" ;\n")))
        admin.dispose()
        yield from _run_stack(workdir, log_dir, postgres, redis, running)
    finally:
        stop(running)
        redis.stop()
        postgres.remove()


def _run_stack(workdir: Path, log_dir: Path, postgres: Postgres, redis: Redis,
               running: list[subprocess.Popen[bytes]]) -> Iterator[ProductionStack]:  # fmt: skip
    secret_key, internal_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    rasa_token = secrets.token_urlsafe(32)
    database_url = postgres.url("dropdesk")
    ports = {name: free_port() for name in ("actions", *RASAS, *SERVICES)}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    rasa_lb = Balancer("rasa", [urls[n] for n in RASAS])
    service_lb = Balancer("service", [urls[n] for n in SERVICES])
    base = dict(os.environ) | {"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false",
                               "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}  # fmt: skip
    service_env = base | {
        "DROPDESK_ENV": "production",
        "DROPDESK_DATABASE_URL": database_url,
        "DROPDESK_PUBSUB_URL": f"{redis.url}/0",
        "DROPDESK_ATTACHMENT_STORE": "database",
        "DROPDESK_RASA_URL": rasa_lb.url,
        "DROPDESK_ACTIONS_URL": urls["actions"],
        "DROPDESK_SECRET_KEY": secret_key,
        "DROPDESK_INTERNAL_TOKEN": internal_token,
        "DROPDESK_RASA_TOKEN": rasa_token,
        "DROPDESK_RASA_TIMEOUT_SECONDS": str(RASA_TIMEOUT),
        "DROPDESK_RASA_TURN_LIMIT_SECONDS": str(TURN_LIMIT),
        "DROPDESK_WORKING_HOURS": "00:00-24:00",
        "DROPDESK_LOG_DIR": str(log_dir),
    }
    # The migrate job, twice at once as two releases' jobs might: the advisory lock serialises.
    dropdesk = str(Path(sys.executable).parent / "dropdesk")
    jobs = [
        subprocess.Popen([dropdesk, "migrate"], env=service_env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]  # fmt: skip
    for job in jobs:
        out, _ = job.communicate(timeout=120)
        assert job.returncode == 0, out.decode(errors="replace")
    with session_scope(database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())

    endpoints = production_endpoints(workdir / "endpoints.yml", postgres, redis, ports["actions"])
    rasa_env = base | {"POSTGRES_USER": postgres.user, "POSTGRES_PASSWORD": postgres.password,
                       "DROPDESK_RASA_TOKEN": rasa_token}  # fmt: skip
    actions_env = base | {"DROPDESK_SERVICE_URL": service_lb.url,
                          "DROPDESK_INTERNAL_TOKEN": internal_token}  # fmt: skip
    specs = [Process("actions", [str(BOT_VENV / "bin" / "rasa"), "run", "actions", "--actions",
                                 "actions", "--port", str(ports["actions"])],
                     f"{urls['actions']}/health")]  # fmt: skip
    env = {"actions": actions_env}
    for name in RASAS:
        specs.append(Process(name, [
            str(BOT_VENV / "bin" / "python"), "-m", "bot.server", "run", "--enable-api",
            "--auth-token", rasa_token, "--model", str(Path(MODEL).resolve()),
            "--endpoints", str(endpoints), "--credentials", "docker/credentials.yml",
            "--port", str(ports[name]), "--interface", "127.0.0.1",
        ], f"{urls[name]}/status?token={rasa_token}"))  # fmt: skip
        env[name] = rasa_env
    for name in SERVICES:
        serve = [dropdesk, "serve", "--host", "127.0.0.1", "--port", str(ports[name])]
        specs.append(Process(name, serve, f"{urls[name]}/healthz"))
        env[name] = service_env
    with serve_app(rasa_lb.app(), rasa_lb.port), serve_app(service_lb.app(), service_lb.port):
        for spec in specs:
            running.extend(start([spec], log_dir, env[spec.name]))
        stack = ProductionStack(
            postgres=postgres, redis=redis, rasa_lb=rasa_lb, service_lb=service_lb, specs=specs,
            running=running, env=env, log_dir=log_dir, database_url=database_url,
            secret_key=secret_key, rasa_token=rasa_token, urls=urls,
        )  # fmt: skip
        failed = wait_healthy(specs, running, timeout=400)
        assert failed is None, f"{failed} did not start:\n{stack.tail(failed or '')}"
        for name in RASAS:
            rasa_warm_up(urls[name], rasa_token)
        yield stack
        get_engine(database_url).dispose()


# --- a merchant as a real client: Idempotency-Key on every message, retried on failure -------


class Merchant:
    def __init__(self, prod: ProductionStack, via: str = "service-a") -> None:
        self.prod = prod
        settings = Settings(env="test", secret_key=prod.secret_key)
        self.token = issue_merchant_token(merchant_no=demo.STORE.merchant_no, settings=settings)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        answer = httpx.post(f"{prod.urls[via]}/api/v1/sessions", headers=self.headers, timeout=30)
        answer.raise_for_status()
        self.id: str = answer.json()["session_id"]

    def post(self, text: str, *, via: str, key: str | None = None,
             timeout: float = 60) -> httpx.Response:  # fmt: skip
        headers = self.headers | {"Idempotency-Key": key or uuid.uuid4().hex}
        return httpx.post(f"{self.prod.urls[via]}/api/v1/sessions/{self.id}/messages",
                          json={"text": text}, headers=headers, timeout=timeout)  # fmt: skip

    def say(self, text: str, *, via: str = "service-a") -> dict[str, Any]:
        answer = self.post(text, via=via)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def transcript(self, via: str = "service-b") -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.prod.urls[via]}/api/v1/sessions/{self.id}/messages",
                           headers=self.headers, timeout=30)  # fmt: skip
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def state(self, via: str = "service-b") -> dict[str, Any]:
        answer = httpx.get(f"{self.prod.urls[via]}/api/v1/sessions/{self.id}",
                           headers=self.headers, timeout=30)  # fmt: skip
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def said(self, via: str = "service-b") -> list[str]:
        return [m["text"] for m in self.transcript(via) if m["sender"] == "merchant"]

    @contextlib.contextmanager
    def widget(self, via: str) -> Iterator[ClientConnection]:
        """The widget's live channel on one service process, authenticated and ready."""
        ws_url = self.prod.urls[via].replace("http://", "ws://")
        with connect(f"{ws_url}/api/v1/sessions/{self.id}/live", open_timeout=10) as socket:
            socket.send(json.dumps({"type": "auth", "token": self.token}))
            assert json.loads(socket.recv(timeout=10))["type"] == "ready"
            yield socket


def rasa_user_texts(prod: ProductionStack, session_id: str) -> list[str]:
    """The merchant's messages as Rasa's shared tracker store has them, in order."""
    answer = httpx.get(f"{prod.rasa_lb.url}/conversations/{session_id}/tracker",
                       params={"token": prod.rasa_token}, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return [e["text"] for e in answer.json()["events"] if e["event"] == "user"]


def live_texts(socket: ClientConnection, until: str, timeout: float) -> list[dict[str, Any]]:
    """Messages the widget receives until one from `until` (a sender) arrives."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if frame.get("type") == "message":
            got.append(frame["message"])
            if frame["message"]["sender"] == until:
                return got
    raise AssertionError(f"no {until} message within {timeout} s; got {got}")


def fresh_store(prod: ProductionStack) -> None:
    # The demo store's times are relative to its seeding ("五十分钟前" is a 10-minute window).
    with session_scope(prod.database_url) as db_session:
        demo.seed(db_session=db_session, now=now_shanghai())


def assert_diagnosed(body: dict[str, Any], transcript: str = "") -> None:
    state = body.get("session", body)
    assert state["diagnosis"] is not None, transcript or body
    assert state["diagnosis"]["code"] == "duplicate_charge", transcript or body
    assert state["evidence"]["amount"] == "199.00"


# --- the production profile ----------------------------------------------------------------


def test_conversations_across_both_services_and_both_rasas_keep_order(
    prod: ProductionStack,
) -> None:
    """Six merchants at once, every turn through the other service process than the last,
    every Rasa request to the other Rasa server than the last: each conversation reaches its
    diagnosis, with every message once and in order, in the transcript and in Rasa's tracker."""
    fresh_store(prod)
    served_before = dict(prod.rasa_lb.served)
    merchants = [Merchant(prod, via=SERVICES[i % 2]) for i in range(6)]

    def play(index: int) -> dict[str, Any]:
        merchant, body = merchants[index], {}
        for turn, line in enumerate(SCRIPT):
            body = merchant.say(line, via=SERVICES[(index + turn) % 2])
        return body

    with ThreadPoolExecutor(max_workers=6) as pool:
        finals = list(pool.map(play, range(6)))
    touched_both = 0
    for merchant, final in zip(merchants, finals, strict=True):
        transcript = merchant.transcript()
        words = "\n".join(f"{m['sender']}: {m['text']}" for m in transcript)
        assert_diagnosed(final, words)
        assert merchant.said() == list(SCRIPT), words
        # Order: every merchant message is answered before the next one.
        senders = [m["sender"] for m in transcript]
        for i, sender in enumerate(senders[:-1]):
            if sender == "merchant":
                assert senders[i + 1] == "bot", words
        assert rasa_user_texts(prod, merchant.id) == list(SCRIPT)
        rasas = {backend for backend, sender in prod.rasa_lb.log if sender == merchant.id}
        touched_both += len(rasas) == 2
    for name in RASAS:
        assert prod.rasa_lb.served[prod.urls[name]] > served_before.get(prod.urls[name], 0)
    assert touched_both >= 1  # round robin: one conversation's turns on both Rasa servers


def test_one_conversation_two_messages_at_once_through_both_services(
    prod: ProductionStack,
) -> None:
    """Two messages of one conversation at the same moment, one through each process (and so,
    likely, one to each Rasa): the Redis lock store runs them one after the other, so Rasa's
    tracker has both, once, each turn whole (its answer before the next message)."""
    fresh_store(prod)
    merchant = Merchant(prod)
    merchant.say(SCRIPT[0], via="service-a")
    barrier = threading.Barrier(2)

    def send(args: tuple[str, str]) -> int:
        line, via = args
        barrier.wait()
        return merchant.post(line, via=via).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(send, [(SCRIPT[1], "service-a"), (SCRIPT[2], "service-b")]))
    assert codes == [200, 200]
    said = merchant.said()
    assert sorted(said) == sorted(SCRIPT[:3]) and said[0] == SCRIPT[0], said
    assert sorted(rasa_user_texts(prod, merchant.id)) == sorted(SCRIPT[:3])
    answer = httpx.get(f"{prod.rasa_lb.url}/conversations/{merchant.id}/tracker",
                       params={"token": prod.rasa_token}, timeout=30)  # fmt: skip
    events = [e["event"] for e in answer.json()["events"]]
    # Each user event is followed by that turn's actions up to action_listen before the next.
    users = [i for i, e in enumerate(events) if e == "user"]
    for first, second in itertools.pairwise(users):
        turn = answer.json()["events"][first:second]
        assert any(e.get("name") == "action_listen" for e in turn[1:]), events


def test_a_message_through_a_reaches_a_widget_on_b(prod: ProductionStack) -> None:
    fresh_store(prod)
    merchant = Merchant(prod)
    with merchant.widget("service-b") as widget:
        body = merchant.say(SCRIPT[0], via="service-a")
        got = live_texts(widget, until="bot", timeout=30)
    assert got[0]["sender"] == "merchant" and got[0]["text"] == SCRIPT[0]
    assert got[-1]["text"] == body["messages"][0]["text"]


# --- faults --------------------------------------------------------------------------------


def _in_flight(balancer: Balancer, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [backend for backend, n in balancer.in_flight.items() if n > 0]
        if busy:
            return busy[0]
        time.sleep(0.02)
    raise AssertionError(f"no request in flight on {balancer.name}")


def test_rasa_killed_mid_turn(prod: ProductionStack) -> None:
    """kill -9 of the Rasa server that holds a merchant's turn: the service sends the message
    again (marked as a resend, by its id) and the other Rasa server takes it from the shared
    tracker: the merchant gets the bot's answer, not an apology, and sends nothing again; Rasa
    took the message once; a retry of the same request (same key) gets that same answer; the
    killed server comes back."""
    fresh_store(prod)
    merchant = Merchant(prod)
    merchant.say(SCRIPT[0])
    merchant.say(SCRIPT[1], via="service-b")
    for name in RASAS:  # hold both, so the turn is caught inside one of them
        prod.signal(name, signal.SIGSTOP)
    key = uuid.uuid4().hex
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(merchant.post, SCRIPT[2], via="service-a", key=key)
            victim = next(n for n in RASAS if prod.urls[n] == _in_flight(prod.rasa_lb))
            prod.kill(victim)
            for name in RASAS:
                if name != victim:
                    prod.signal(name, signal.SIGCONT)
            first = pending.result(timeout=60)
    finally:
        for name in RASAS:
            with contextlib.suppress(ProcessLookupError):
                prod.signal(name, signal.SIGCONT)
    prod.start(victim)  # the orchestrator restarts it; it loads while the merchant goes on
    try:
        assert first.status_code == 200, first.text
        replies = [m["text"] for m in first.json()["messages"]]
        assert replies and replies != [messages.BOT_UNAVAILABLE], replies
        if replies == [messages.BOT_ON_ITS_WAY]:
            _wait_for_evidence(merchant, "txn_time")
        else:
            assert first.json()["session"]["evidence"]["txn_time"] is not None, first.text
        retry = merchant.post(SCRIPT[2], via="service-b", key=key)
        assert retry.json()["messages"] == first.json()["messages"]  # same answer, no rerun
        final = merchant.say(SCRIPT[3], via="service-b")
        assert_diagnosed(final, "\n".join(m["text"] for m in merchant.transcript()))
        assert merchant.said() == list(SCRIPT)
        assert rasa_user_texts(prod, merchant.id) == list(SCRIPT)  # each taken once by Rasa
    finally:
        prod.wait_up(victim)
        rasa_warm_up(prod.urls[victim], prod.rasa_token)


def _wait_for_evidence(merchant: Merchant, slot: str, timeout: float = 60) -> dict[str, Any]:
    """The answer was on its way: wait until the turn's evidence is in the session."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = merchant.state()
        if state["evidence"][slot] is not None:
            return state
        time.sleep(0.5)
    raise AssertionError(f"no {slot} within {timeout} s: {merchant.transcript()}")

def test_action_server_killed_mid_turn(prod: ProductionStack) -> None:
    """kill -9 of the action server while a turn waits on it: Rasa's turn fails and keeps
    nothing; the service sends the message again until the restarted action server answers,
    and the diagnosis reaches the merchant without the message being sent twice."""
    fresh_store(prod)
    merchant = Merchant(prod)
    for line in SCRIPT[:3]:
        merchant.say(line)
    prod.signal("actions", signal.SIGSTOP)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(merchant.post, SCRIPT[3], via="service-b")
        time.sleep(1.5)  # the turn has reached the action call (it is held there)
        prod.kill("actions")
        time.sleep(2.0)  # the turn fails, and fails again while nothing listens
        prod.start("actions")  # the orchestrator restarts it
        first = pending.result(timeout=90)
    prod.wait_up("actions", timeout=120)
    assert first.status_code == 200, first.text
    replies = [m["text"] for m in first.json()["messages"]]
    assert replies and replies != [messages.BOT_UNAVAILABLE], replies
    log = "".join(p.read_text(errors="replace") for p in prod.log_dir.glob("service-*.log"))
    assert f"turn for {merchant.id} failed" in log  # it was retried, not a lucky first try
    deadline = time.monotonic() + 60
    while merchant.state()["diagnosis"] is None and time.monotonic() < deadline:
        time.sleep(0.5)  # the answer was on its way
    assert_diagnosed(merchant.state(), "\n".join(m["text"] for m in merchant.transcript()))
    assert merchant.said() == list(SCRIPT)
    assert rasa_user_texts(prod, merchant.id) == list(SCRIPT)

def test_service_process_killed_mid_turn(prod: ProductionStack) -> None:
    """kill -9 of the service process holding a merchant's turn. The client, whose connection
    broke, retries with the same Idempotency-Key on the other process: it is told the answer
    is on its way, and the answer arrives on its widget once the other process takes over the
    dead process's turn; the message is in the transcript once, and the conversation goes on."""
    fresh_store(prod)
    merchant = Merchant(prod)
    merchant.say(SCRIPT[0], via="service-b")
    merchant.say(SCRIPT[1], via="service-a")
    key = uuid.uuid4().hex
    for name in RASAS:  # hold the bot so the turn is caught inside service-a
        prod.signal(name, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(merchant.post, SCRIPT[2], via="service-a", key=key)
            _in_flight(prod.rasa_lb)
            with session_scope(prod.database_url) as db:
                row = db.scalars(select(ChatRequest).where(ChatRequest.client_key == key)).one()
                assert row.state == "running"
            prod.kill("service-a")
            with pytest.raises(httpx.TransportError):
                pending.result(timeout=30).raise_for_status()
    finally:
        for name in RASAS:
            prod.signal(name, signal.SIGCONT)
    prod.start("service-a")
    try:
        with merchant.widget("service-b") as widget:
            retry = merchant.post(SCRIPT[2], via="service-b", key=key)
            assert retry.status_code == 200, retry.text
            told = [m["text"] for m in retry.json()["messages"]]
            if told == [messages.BOT_ON_ITS_WAY]:
                # The dead process's turn is taken over once it has been silent past the limit.
                got = live_texts(widget, until="bot", timeout=TURN_LIMIT + 40)
                assert got[-1]["sender"] == "bot"
            else:
                assert told and told != [messages.BOT_UNAVAILABLE], told
        final = merchant.say(SCRIPT[3], via="service-b")
        words = "\n".join(m["text"] for m in merchant.transcript())
        assert_diagnosed(final, words)
        assert merchant.said() == list(SCRIPT), words
    finally:
        prod.wait_up("service-a", timeout=60)


def test_postgresql_restarted(prod: ProductionStack) -> None:
    """PostgreSQL down: the merchant is told plainly the message did not go through (503) and
    nothing is half-kept; the client's retry with the same key once the database is back is
    taken once; the conversation (service transcript and Rasa's tracker, both in PostgreSQL)
    goes on from where it was."""
    fresh_store(prod)
    merchant = Merchant(prod)
    merchant.say(SCRIPT[0])
    merchant.say(SCRIPT[1], via="service-b")
    prod.postgres.stop()
    key = uuid.uuid4().hex
    try:
        down = merchant.post(SCRIPT[2], via="service-a", key=key, timeout=60)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["message"] == messages.SERVICE_UNAVAILABLE
        assert "Retry-After" in down.headers
    finally:
        prod.postgres.start()
    body = {}
    for _ in range(3):  # the client's retries, same key
        again = merchant.post(SCRIPT[2], via="service-b", key=key)
        if again.status_code == 200:
            body = again.json()
            break
        time.sleep(1)
    assert body and body["messages"][0]["text"] != messages.BOT_UNAVAILABLE, body
    assert body["session"]["evidence"]["txn_time"] is not None, body
    final = merchant.say(SCRIPT[3], via="service-a")
    assert_diagnosed(final, "\n".join(m["text"] for m in merchant.transcript()))
    assert merchant.said() == list(SCRIPT)


def test_redis_stopped_and_started(prod: ProductionStack) -> None:
    """Redis down: Rasa cannot take the conversation's lock, so the turn fails and the service
    keeps sending the message; the merchant is told the answer is on its way; the widget's live
    channel closes so the widget reconnects. With Redis back the same message goes through
    without being sent again, and the widget hears the conversation live."""
    fresh_store(prod)
    merchant = Merchant(prod)
    merchant.say(SCRIPT[0])
    merchant.say(SCRIPT[1], via="service-b")
    try:
        with merchant.widget("service-b") as widget:
            prod.redis.stop()
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    widget.recv(timeout=15)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        down = merchant.post(SCRIPT[2], via="service-a", timeout=60)
        assert down.status_code == 200, down.text
        assert [m["text"] for m in down.json()["messages"]] == [messages.BOT_ON_ITS_WAY]
    finally:
        prod.redis.start()
    _wait_for_evidence(merchant, "txn_time")
    with merchant.widget("service-b") as widget:
        final = merchant.say(SCRIPT[3], via="service-a")
        got = live_texts(widget, until="bot", timeout=30)
        assert got[0]["text"] == SCRIPT[3]
    assert_diagnosed(final, "\n".join(m["text"] for m in merchant.transcript()))
    assert merchant.said() == list(SCRIPT)
    assert rasa_user_texts(prod, merchant.id) == list(SCRIPT)
