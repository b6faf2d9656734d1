"""The human side under load: queue reads with 1,000 waiting sessions, and live delivery.

1. The agent API's queue and the console's queue page (and its live-updated rows) with
   1,000 sessions waiting, beside /healthz on the same server as the baseline.
2. A merchant's message to the agent's screen (the console's live WebSocket) beside the
   same message reaching the merchant's own widget (its WebSocket), both from one POST.

Usage: python bench/handoff_bench.py [--waiting 1000] [--messages 200] [--pubsub memory://]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from dropdesk import demo
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate, AgentRole
from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.models import Sender
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.handoff import service as handoff_service
from dropdesk.main import create_app
from dropdesk.ticket.models import EscalationReason
from dropdesk.timezone import now_shanghai

PASSWORD = "bench agent password"


def percentiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49], q[94]


def seed(settings: Settings, waiting: int) -> tuple[str, str]:
    """Demo store, `waiting` escalated sessions and an agent; return (API token, session id)."""
    upgrade(settings.database_url)
    now = now_shanghai()
    with session_scope(settings.database_url) as db:
        demo.seed(db_session=db, now=now)
        agent = agent_service.create(
            db_session=db,
            spec=AgentCreate(name="bench", role=AgentRole.SUPERVISOR, password=PASSWORD),
            now=now,
        )
        token = agent_service.issue_api_token(db_session=db, agent=agent)
    merchants = [m.merchant_no for m in demo.MERCHANTS]
    for n in range(waiting + 1):
        with session_scope(settings.database_url) as db:
            chat = conversation_service.create(
                db_session=db, merchant_no=merchants[n % 2], channel="widget"
            )
            conversation_service.add_message(db_session=db, chat=chat, sender=Sender.MERCHANT,
                                             text=f"转人工 {n}")  # fmt: skip
            handoff_service.escalate(db_session=db, session_id=chat.id, settings=settings,
                                     reason=EscalationReason.MERCHANT_REQUEST, now=now)  # fmt: skip
            last = chat.id
    return token, last


def console_login(http: httpx.Client) -> None:
    page = http.get("/console/login").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "no CSRF field on the login page"
    done = http.post("/console/login", data={"name": "bench", "password": PASSWORD,
                                              "csrf": match.group(1)})  # fmt: skip
    assert done.status_code in (200, 303), done.status_code


def time_gets(http: httpx.Client, path: str, rounds: int) -> tuple[list[float], int]:
    timings, size = [], 0
    for _ in range(3):  # warm-up
        http.get(path).raise_for_status()
    for _ in range(rounds):
        started = time.perf_counter()
        response = http.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = response.num_bytes_downloaded  # on the wire (gzip)
    return timings, size


async def live_latency(base: str, settings: Settings, session_id: str, merchant_no: str,
                       cookies: httpx.Cookies, count: int) -> dict[str, list[float]]:  # fmt: skip
    """Post `count` merchant messages; time their arrival on the widget and the console."""
    token = issue_merchant_token(merchant_no=merchant_no, settings=settings)
    arrived: dict[str, dict[str, float]] = {"widget": {}, "console": {}}
    ws_url = base.replace("http://", "ws://") + f"/api/v1/sessions/{session_id}/live"
    async with (
        websockets.connect(ws_url, origin=base) as ws,  # type: ignore[arg-type]
        httpx.AsyncClient(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as merchant,  # fmt: skip
        websockets.connect(
            base.replace("http://", "ws://") + f"/console/sessions/{session_id}/live",
            origin=base,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"dropdesk_console={cookies['dropdesk_console']}"},
        ) as console_ws,
    ):
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        assert json.loads(await console_ws.recv())["type"] == "ready"

        async def read_widget() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    arrived["widget"][frame["message"]["text"]] = time.perf_counter()

        async def read_console() -> None:
            async for raw in console_ws:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    arrived["console"][frame["message"]["text"]] = time.perf_counter()

        readers = [asyncio.create_task(read_widget()), asyncio.create_task(read_console())]
        sent: dict[str, float] = {}
        post_ms = []
        for n in range(count):
            text = f"bench-{n}-{secrets.token_hex(3)}"
            sent[text] = time.perf_counter()
            response = await merchant.post(f"/api/v1/sessions/{session_id}/messages",
                                           json={"text": text})  # fmt: skip
            response.raise_for_status()
            post_ms.append((time.perf_counter() - sent[text]) * 1000)
            deadline = time.perf_counter() + 5
            while not all(text in arrived[k] for k in arrived) and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
        for task in readers:
            task.cancel()
    result = {k: [(arrived[k][t] - s) * 1000 for t, s in sent.items() if t in arrived[k]]
              for k in arrived}  # fmt: skip
    result["post"] = post_ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--pubsub", default="memory://")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            env="test", database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            pubsub_url=args.pubsub, secret_key=secrets.token_urlsafe(32),
            working_hours="00:00-24:00", sweep_interval_seconds=3600,
        )  # fmt: skip
        started = time.perf_counter()
        token, live_session = seed(settings, args.waiting)
        print(f"seeded {args.waiting + 1} escalated sessions in "
              f"{time.perf_counter() - started:.1f} s (SQLite, pub/sub {args.pubsub})")  # fmt: skip
        with serve_in_thread(create_app(settings), free_port()) as base:
            api = httpx.Client(base_url=base, timeout=30,
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            console = httpx.Client(base_url=base, timeout=30)
            console_login(console)
            rows = {
                "GET /healthz (baseline)": time_gets(console, "/healthz", args.rounds),
                "GET /api/v1/agent/queue": time_gets(api, "/api/v1/agent/queue", args.rounds),
                "GET /console (queue page)": time_gets(console, "/console", args.rounds),
                "GET /console/queue/rows (live swap)": time_gets(
                    console, "/console/queue/rows", args.rounds
                ),
            }
            queue_len = len(api.get("/api/v1/agent/queue").json())
            print(f"\nqueue reads, {queue_len} sessions waiting, {args.rounds} rounds each:")
            _, base95 = percentiles(rows["GET /healthz (baseline)"][0])
            for name, (timings, size) in rows.items():
                p50, p95 = percentiles(timings)
                print(f"  {name:38s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                      f"{size / 1024:7.0f} KiB gz  p95 x{p95 / base95:6.1f} baseline")  # fmt: skip
            # The last session: claimed, so merchant messages go to the agent, not the bot.
            api.post(f"/api/v1/agent/sessions/{live_session}/claim").raise_for_status()
            merchant_no = api.get(f"/api/v1/agent/sessions/{live_session}").json()["merchant"][
                "merchant_no"
            ]
            result = asyncio.run(live_latency(base, settings, live_session, merchant_no,
                                              console.cookies, args.messages))  # fmt: skip
        print(f"\nmerchant message -> screens, {args.messages} messages through one POST each:")
        labels = {"post": "POST answered (merchant)", "widget": "widget WebSocket (merchant)",
                  "console": "console WebSocket (agent)"}  # fmt: skip
        for key, label in labels.items():
            p50, p95 = percentiles(result[key])
            print(f"  {label:30s} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  "
                  f"({len(result[key])}/{args.messages} arrived)")  # fmt: skip
        c50, c95 = percentiles(result["console"])
        w50, w95 = percentiles(result["widget"])
        print(f"  console / widget               p50 x{c50 / w50:.2f}  p95 x{c95 / w95:.2f}")


if __name__ == "__main__":
    sys.exit(main())
