"""The supervisor dashboard over 100,000 conversations and 1,000,000 messages on PostgreSQL.

Builds the history with set-based SQL (INSERT ... SELECT generate_series) in a schema of its
own, serves the app with uvicorn, and reports:
1. the page (/console/dashboard) for today, 7 and 30 days, as a supervisor and as an agent:
   p50/p95 over --runs requests;
2. each figure's queries alone (30 days): p50/p95;
3. what the 30-day figures are (a faster query must give the same numbers);
4. EXPLAIN (ANALYZE, BUFFERS) of every statement the 30-day page runs, with the full plans of
   the slowest.
The schema is dropped at the end (--keep keeps it).

Usage: python bench/dashboard_bench.py [--conversations 100000] [--runs 30]
       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate, AgentRole
from dropdesk.config import Settings
from dropdesk.dashboard import service
from dropdesk.dashboard.facts import SOLVED_REPLY, Scope
from dropdesk.dashboard.period import parse
from dropdesk.database.core import get_engine, session_scope
from dropdesk.database.migrate import upgrade
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.main import create_app
from dropdesk.timezone import now_shanghai

PASSWORD = "bench supervisor password"
MESSAGES_PER_CONVERSATION = 10
DAYS = 90
AGENTS = 20
MERCHANTS = 2000
CODES = ("approved_not_printed", "settlement_pending", "declined", "reversed", "settled",
         "duplicate_charge", "not_found", "ambiguous", "settlement_delayed",
         "reversal_failed")  # fmt: skip
REASONS = ("merchant_request", "needs_human", "not_solved", "fallback")

# i is the conversation's number (1..n); everything about it is a function of i.
HISTORY_SQL = [
    """INSERT INTO merchant (id, merchant_no, name)
       SELECT m, '8653100' || lpad(m::text, 8, '0'), '商户' || m
       FROM generate_series(1, :merchants) m""",
    """INSERT INTO terminal (merchant_id, terminal_no, model, software_version)
       SELECT m, 'T' || lpad(m::text, 6, '0') || t, 'PAX A920',
              (ARRAY['V2.1.7','V2.2.0','V2.3.1','V3.0.2','V3.1.0'])[1 + (m * 7 + t) % 5]
       FROM generate_series(1, :merchants) m, generate_series(0, 1) t""",
    """INSERT INTO agent (id, name, role, password_hash, session_epoch, failed_logins, active,
                         created_at)
       SELECT a, 'agent' || a, 'agent', 'x', 0, 0, true, :now FROM generate_series(1, :agents) a""",
    """INSERT INTO chat_session (id, merchant_id, channel, status, escalated, amount_fen,
                                order_ref, created_at, updated_at)
       SELECT 'b' || lpad(i::text, 31, '0'), 1 + (i * 7919) % :merchants,
              CASE WHEN i % 20 < 10 THEN 'widget' WHEN i % 20 < 17 THEN 'wechat' ELSE 'api' END,
              'bot', i % 4 = 0, ((i % 500) + 1) * 100 + 50,
              CASE WHEN i % 3 = 0 THEN NULL ELSE 'ref' || i END,
              c, c + interval '5 minutes'
       FROM (SELECT i, :now - (i - 1) * (interval '1 day' * :days / :n)
                    - (i % 60) * interval '1 second' AS c
             FROM generate_series(1, :n) i) s""",
    # The merchant speaks at 30 s, 90 s, ... (odd k below): 1 + i % 5 turns by the diagnosis.
    """INSERT INTO diagnosis_record (id, session_id, query, code, reason, candidates, next_steps,
                                    details, terminals, needs_human, created_at, order_ref,
                                    merchant_turns, amount_fen, terminal_no)
       SELECT i, 'b' || lpad(i::text, 31, '0'),
              json_build_object('order_ref', CASE WHEN i % 3 = 0 THEN NULL ELSE 'ref' || i END),
              (CAST(:codes AS text[]))[1 + (i * 31) % 10], 'bench',
              json_build_array(json_build_object(
                'terminal_no', 'T' || lpad((1 + (i * 7919) % :merchants)::text, 6, '0') || (i % 2),
                'amount', ((i % 500) + 1)::text || '.50')),
              '[]', '{}', '[]', false,
              s.created_at + (60 + (i % 5) * 60) * interval '1 second',
              CASE WHEN i % 3 = 0 THEN NULL ELSE 'ref' || i END, 1 + i % 5,
              ((i % 500) + 1) * 100 + 50,
              'T' || lpad((1 + (i * 7919) % :merchants)::text, 6, '0') || (i % 2)
       FROM generate_series(1, :n) i
       JOIN chat_session s ON s.id = 'b' || lpad(i::text, 31, '0')
       WHERE i % 100 < 85""",
    """UPDATE chat_session SET latest_diagnosis_id = d.id
       FROM diagnosis_record d WHERE d.session_id = chat_session.id""",
    """INSERT INTO chat_message (session_id, sender, text, delivery, created_at)
       SELECT s.id, CASE WHEN k % 2 = 1 THEN 'merchant' ELSE 'bot' END,
              CASE WHEN k = :per AND s.latest_diagnosis_id IS NOT NULL AND NOT s.escalated
                        AND s.amount_fen % 3 = 0 THEN :solved ELSE '消息 ' || k END,
              CASE WHEN k % 2 = 1 THEN 'delivered' END,
              s.created_at + k * interval '30 seconds'
       FROM chat_session s, generate_series(1, :per) k""",
    """INSERT INTO ticket (ticket_no, session_id, merchant_id, diagnosis_id, reason, status,
                          priority, amount_fen, assignee_id, evidence, first_response_due_at,
                          first_response_at, resolution, rating, created_at, updated_at,
                          resolved_at)
       SELECT 'DD-' || lpad(i::text, 10, '0'), s.id, s.merchant_id, s.latest_diagnosis_id,
              (CAST(:reasons AS text[]))[1 + (i / 4) % 4], 'closed', 2, s.amount_fen,
              1 + i % :agents, '{}',
              t + interval '10 minutes', t + (i % 15) * interval '1 minute', 'explained',
              CASE WHEN i % 8 < 5 THEN 1 + i % 5 END, t, t + interval '40 minutes',
              t + interval '40 minutes'
       FROM (SELECT i, 'b' || lpad(i::text, 31, '0') AS sid FROM generate_series(4, :n, 4) i) g
       JOIN chat_session s ON s.id = g.sid
       CROSS JOIN LATERAL (SELECT s.created_at + interval '3 minutes' AS t) x""",
    """INSERT INTO session_transition (session_id, from_status, to_status, actor, reason,
                                      created_at)
       SELECT t.session_id, v.f, v.t, 'bench', 'bench', t.created_at + v.after
       FROM ticket t
       CROSS JOIN LATERAL (VALUES
         ('bot', 'queued', interval '0 minutes'),
         ('queued', 'agent', (t.id % 13) * interval '1 minute'),
         ('agent', 'bot', interval '40 minutes')) v(f, t, after)""",
]


def build(url: str, n: int, now: dt.datetime) -> None:
    engine = get_engine(url)
    params: dict[str, Any] = {
        "n": n, "merchants": MERCHANTS, "agents": AGENTS, "days": DAYS,
        "now": now.astimezone(dt.UTC).replace(tzinfo=None), "per": MESSAGES_PER_CONVERSATION,
        "codes": list(CODES), "reasons": list(REASONS), "solved": SOLVED_REPLY,
    }  # fmt: skip
    with engine.begin() as conn:
        for sql in HISTORY_SQL:
            started = time.perf_counter()
            used = {k: v for k, v in params.items() if f":{k}" in sql}
            count = conn.execute(text(sql), used).rowcount
            took = time.perf_counter() - started
            print(f"  {sql.split()[2]:<20} {count:>9,} rows  {took:5.1f} s")
        conn.execute(text("SELECT setval(pg_get_serial_sequence('agent', 'id'), :a)"),
                     {"a": AGENTS})  # fmt: skip
    vacuum(url)
    with session_scope(url) as db:
        spec = AgentCreate(name="boss", role=AgentRole.SUPERVISOR, password=PASSWORD)
        agent_service.create(db_session=db, spec=spec, now=now)
        agent = agent_service.get_by_name(db_session=db, name="agent1")
        assert agent is not None
        agent_service.set_password(db_session=db, agent=agent, password=PASSWORD)


def vacuum(url: str) -> None:
    """What autovacuum does after a bulk load or a migration's backfill: statistics, and the
    visibility map that lets index-only scans skip the table."""
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE"))
        print(f"  VACUUM ANALYZE {time.perf_counter() - started:.1f} s")


def spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return f"p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:6.1f} ms"


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    call()  # warm: plans cached, pages in shared buffers
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def signed_in(base: str, name: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    form = http.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    answer = http.post("/console/login", data={"name": name, "password": PASSWORD,
                                                "csrf": csrf.group(1)})  # fmt: skip
    assert answer.status_code in (200, 303), answer.text
    return http


def bench_pages(url: str, runs: int) -> None:
    settings = Settings(env="test", database_url=url, rasa_url="http://127.0.0.1:9")
    with serve_in_thread(create_app(settings), free_port()) as base:
        for name, who in (("supervisor", "boss"), ("agent", "agent1")):
            http = signed_in(base, who)
            for preset in ("today", "7d", "30d"):
                def page(preset: str = preset, http: httpx.Client = http) -> None:
                    answer = http.get(f"/console/dashboard?range={preset}")
                    assert answer.status_code == 200 and "数据看板" in answer.text
                print(f"  {name:<10} {preset:<5} {spread(timed(runs, page))}")
            http.close()


FIGURES: dict[str, Callable[..., object]] = {
    "traffic": service.traffic, "drop_codes": service.drop_codes,
    "outcomes": service.outcomes, "diagnosis": service.diagnosis,
    "terminals": service.terminals,
    "queue": lambda **kw: service.queue(**kw, scope=Scope()),
    "ratings": lambda **kw: service.ratings(**kw, scope=Scope()),
}  # fmt: skip


def bench_queries(url: str, runs: int) -> None:
    now = now_shanghai()
    period = parse(preset="30d", first=None, last=None, now=now)
    with session_scope(url) as db:
        for name, figure in FIGURES.items():
            took = timed(runs, lambda f=figure: f(db_session=db, period=period, now=now))
            print(f"  {name:<11} {spread(took)}")


def show_figures(url: str) -> None:
    """What the 30-day page shows, in short (a change of SQL must not change a number)."""
    now = now_shanghai()
    period = parse(preset="30d", first=None, last=None, now=now)
    with session_scope(url) as db:
        found = {name: figure(db_session=db, period=period, now=now)
                 for name, figure in FIGURES.items()}  # fmt: skip
    traffic: Any = found["traffic"]
    print(f"  traffic     {traffic.total():,} conversations")
    print(f"  drop_codes  {[(c.code, c.count, str(c.amount)) for c in found['drop_codes']]}")  # type: ignore[attr-defined]
    print(f"  outcomes    {found['outcomes'].counts} reasons {found['outcomes'].reasons}")  # type: ignore[attr-defined]
    print(f"  diagnosis   {found['diagnosis']}")
    top, versions = found["terminals"]  # type: ignore[misc]
    print(f"  terminals   top {[(t.terminal_no, t.drops) for t in top[:3]]} "
          f"versions {[(v.version, v.drops, v.terminals) for v in versions]}")  # fmt: skip
    queue: Any = found["queue"]
    print(f"  queue       {queue.overall}")
    ratings: Any = found["ratings"]
    print(f"  ratings     {ratings.count} average {ratings.average} {ratings.distribution}")


def explain(url: str, full: int) -> None:
    """EXPLAIN ANALYZE each statement of the 30-day supervisor page; full plans of the slowest."""
    engine: Engine = get_engine(url)
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    now = now_shanghai()
    period = parse(preset="30d", first=None, last=None, now=now)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(url) as db:
            for figure in FIGURES.values():
                figure(db_session=db, period=period, now=now)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in seen:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            lines = [row[0] for row in cursor.fetchall()]
            ms = float(re.search(r"Execution Time: ([\d.]+)", lines[-1]).group(1))  # type: ignore[union-attr]
            plans.append((ms, statement, lines))
    finally:
        raw.close()
    for ms, statement, _ in plans:
        print(f"  {ms:7.1f} ms  {' '.join(statement.split())[:110]}")
    for ms, statement, lines in sorted(plans, key=lambda p: -p[0])[:full]:
        print(f"\n--- {ms:.1f} ms: {' '.join(statement.split())[:300]}")
        print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--plans", type=int, default=3, help="full plans of the N slowest")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", metavar="SCHEMA", help="a schema kept by --keep (not dropped)")
    args = parser.parse_args()
    schema = args.reuse or f"dd_dash_bench_{uuid.uuid4().hex[:8]}"
    admin = get_engine(args.postgres)
    if not args.reuse:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        n = args.conversations
        if not args.reuse:
            print(f"building {n:,} conversations, {n * MESSAGES_PER_CONVERSATION:,} messages "
                  f"over {DAYS} days in schema {schema} ...")  # fmt: skip
            build(url, n, now_shanghai())
        else:
            vacuum(url)  # the kept schema may have just been migrated
        print(f"\n1. the page, {args.runs} requests each (uvicorn, loopback, gzip off)")
        bench_pages(url, args.runs)
        print(f"\n2. each figure's queries alone, 30 days, {args.runs} runs each")
        bench_queries(url, args.runs)
        print("\n3. the 30-day figures")
        show_figures(url)
        print("\n4. EXPLAIN (ANALYZE, BUFFERS) of the 30-day page's statements")
        explain(url, args.plans)
    finally:
        get_engine(url).dispose()
        if args.keep or args.reuse:
            print(f"\nkept schema {schema}")
        else:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
