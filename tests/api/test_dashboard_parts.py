"""The dashboard's parts: its periods, its link to the bot's words, its migrations, its charts."""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from dropdesk import demo
from dropdesk.config import ROOT, Settings
from dropdesk.conversation.models import ChatSession, Message
from dropdesk.dashboard import charts, service
from dropdesk.dashboard.facts import SOLVED_REPLY
from dropdesk.dashboard.period import Period, parse
from dropdesk.dashboard.service import Spread, spread_of
from dropdesk.database.core import get_engine
from dropdesk.database.migrate import alembic_config, upgrade
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.timezone import SHANGHAI, now_shanghai
from tests.api.conftest import PG_BASE, _postgres_reachable, auth, open_session
from tests.api.factories import MERCHANT_A, row, store

# 00:30 in Shanghai is still the previous day in UTC: the business day is Shanghai's.
EARLY = dt.datetime(2026, 11, 20, 0, 30, tzinfo=SHANGHAI)


def test_presets_are_whole_shanghai_days_ending_today() -> None:
    today = parse(preset="today", first=None, last=None, now=EARLY.astimezone(dt.UTC))
    assert (today.first, today.last) == (dt.date(2026, 11, 20), dt.date(2026, 11, 20))
    assert today.start == dt.datetime(2026, 11, 20, tzinfo=SHANGHAI)
    assert today.end - today.start == dt.timedelta(days=1)
    week = parse(preset="7d", first=None, last=None, now=EARLY)
    assert (week.first, len(week.days)) == (dt.date(2026, 11, 14), 7)
    assert len(parse(preset="30d", first=None, last=None, now=EARLY).days) == 30


def test_a_custom_range_is_ordered_bounded_and_falls_back_when_unreadable() -> None:
    custom = parse(preset="custom", first="2026-11-20", last="2026-11-18", now=EARLY)
    assert custom == Period("custom", dt.date(2026, 11, 18), dt.date(2026, 11, 20))
    assert custom.query() == {"range": "custom", "from": "2026-11-18", "to": "2026-11-20"}
    long = parse(preset="custom", first="2020-01-01", last="2026-11-20", now=EARLY)
    assert len(long.days) == 366
    assert parse(preset="custom", first="昨天", last=None, now=EARLY).preset == "7d"
    assert parse(preset="1y", first=None, last=None, now=EARLY).preset == "7d"


def test_the_solved_reply_is_the_bots_own_words() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    assert [r["text"] for r in domain["responses"]["utter_solved"]] == [SOLVED_REPLY]


def test_the_migration_adds_and_removes_the_indexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/down.db"
    upgrade(url)
    names = {i["name"] for i in inspect(get_engine(url)).get_indexes("chat_message")}
    assert {"ix_chat_message_merchant_turn", "ix_chat_message_solved"} <= names
    command.downgrade(alembic_config(url), "0007")
    get_engine(url).dispose()
    names = {i["name"] for i in inspect(get_engine(url)).get_indexes("chat_message")}
    assert "ix_chat_message_solved" not in names
    upgrade(url)


def test_charts_escape_labels_and_link_every_mark() -> None:
    svg = charts.hbars("t", [charts.Bar("<b>x</b>", 3, "3", "/a?x=1&y=2")])
    assert "<b>x</b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert 'href="/a?x=1&amp;y=2"' in svg
    day = charts.Stack("1/1", (("widget", 2, "/w"), ("api", 0, "/a")), "/all")
    stacked = charts.stacked("t", [day], [("widget", "网页"), ("api", "接口")])
    assert stacked.count("<rect") == 1 and ">2</text>" in stacked


def test_the_demo_history_is_weeks_long_replaced_on_reseed_and_never_queued(
    db_session: Session,
) -> None:
    now = dt.datetime(2026, 12, 4, 15, 0, tzinfo=SHANGHAI)
    first = demo.seed_history(db_session=db_session, now=now)
    again = demo.seed_history(db_session=db_session, now=now)
    assert first == again > 20 * 30
    assert db_session.scalar(select(func.count()).select_from(ChatSession)) == again
    days = db_session.scalars(select(ChatSession.created_at)).all()
    assert (now - min(days)).days >= demo.HISTORY_DAYS
    held = select(func.count()).where(ChatSession.status.in_(["queued", "agent"]))
    assert db_session.scalar(held) == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to 0009 only (before the diagnosis facts and rating comments)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/0009.db"
        command.upgrade(alembic_config(url), "0009")
        yield url
        return
    if not _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    schema = f"dd_test_{uuid.uuid4().hex[:10]}"
    admin = get_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    command.upgrade(alembic_config(url), "0009")
    yield url
    get_engine(url).dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def test_migration_0010_backfills_the_diagnosis_facts(at_0009: str) -> None:
    engine = get_engine(at_0009)
    tables = MetaData()
    tables.reflect(engine)
    t0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)

    def stamp(minutes: int) -> object:
        moment = t0 + dt.timedelta(minutes=minutes)
        if engine.dialect.name == "sqlite":
            return int((moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 10**6
        return moment.replace(tzinfo=None)

    said = [("merchant", 0), ("bot", 1), ("merchant", 2), ("merchant", 4), ("merchant", 9)]
    candidate = [{"terminal_no": "T0000001", "amount": "320.50", "txn_type": "sale"}]
    with engine.begin() as conn:
        conn.execute(insert(tables.tables["merchant"]),
                     {"id": 1, "merchant_no": MERCHANT_A, "name": "小李面馆"})  # fmt: skip
        conn.execute(insert(tables.tables["chat_session"]), {
            "id": "s1", "merchant_id": 1, "channel": "widget", "status": "bot",
            "escalated": False, "created_at": stamp(0), "updated_at": stamp(9)})  # fmt: skip
        conn.execute(insert(tables.tables["chat_message"]), [
            {"session_id": "s1", "sender": sender, "text": "x", "created_at": stamp(m)}
            for sender, m in said])  # fmt: skip
        conn.execute(insert(tables.tables["diagnosis_record"]), [
            {"id": i, "session_id": "s1", "query": query, "code": "settled", "reason": "r",
             "candidates": candidates, "next_steps": [], "details": {}, "terminals": [],
             "needs_human": False, "created_at": stamp(m)}
            for i, m, query, candidates in (
                (1, 3, {"order_ref": "612300000001"}, candidate),
                (2, 5, {"amount": "320.50"}, []),
                (3, 9, {"order_ref": ""}, candidate))])  # fmt: skip
    engine.dispose()
    upgrade(at_0009)
    with get_engine(at_0009).connect() as conn:
        rows = conn.execute(text(
            "SELECT id, merchant_turns, order_ref, amount_fen, terminal_no FROM diagnosis_record "
            "ORDER BY id")).all()  # fmt: skip
    # Turns are the merchant's messages up to and including the diagnosis's moment.
    assert [tuple(r) for r in rows] == [(1, 2, "612300000001", 32050, "T0000001"),
                                        (2, 3, None, None, None),
                                        (3, 4, None, 32050, "T0000001")]  # fmt: skip
    get_engine(at_0009).dispose()
    command.downgrade(alembic_config(at_0009), "0009")
    upgrade(at_0009)


def test_percentiles_read_off_counts_are_nearest_rank() -> None:
    rng = random.Random(19)
    for size in (1, 2, 3, 9, 10, 11, 100, 257):
        values = [rng.choice([rng.randint(0, 5), rng.randint(0, 4000)]) for _ in range(size)]
        ordered = sorted(values)

        def rank(percent: int, ordered: list[int] = ordered) -> int:
            return ordered[math.ceil(len(ordered) * percent / 100) - 1]

        assert spread_of(Counter(values)) == Spread(size, rank(50), rank(90))
    assert spread_of({}) == Spread()


def test_a_diagnosis_keeps_the_facts_the_dashboard_counts(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    store(db_session, row(ref_no="612300000777"))
    sid = open_session(client, settings)
    for text_ in ("刷卡显示失败", "参考号 612300000777"):
        client.post(f"/api/v1/sessions/{sid}/messages", json={"text": text_},
                    headers=auth(settings))  # fmt: skip
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    first = client.post(f"/internal/v1/sessions/{sid}/diagnoses", headers=internal,
                        json={"order_ref": "612300000777"})  # fmt: skip
    assert first.status_code == 200, first.text
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "还有一笔 ¥88"},
                headers=auth(settings))  # fmt: skip
    client.post(f"/internal/v1/sessions/{sid}/diagnoses", headers=internal,
                json={"time_from": "2026-11-25T15:05:00+08:00", "amount": "88.00"})  # fmt: skip
    records = db_session.scalars(select(DiagnosisRecord).order_by(DiagnosisRecord.id)).all()
    assert [(r.merchant_turns, r.order_ref, r.amount_fen, r.terminal_no) for r in records] == [
        (2, "612300000777", 32050, "T0000001"), (3, None, None, None)]  # fmt: skip
    # The kept count is the transcript's: the merchant's messages up to the diagnosis.
    for record in records:
        assert record.merchant_turns == db_session.scalar(
            select(func.count()).where(Message.session_id == sid, Message.sender == "merchant",
                                       Message.created_at <= record.created_at))  # fmt: skip
    today = parse(preset="today", first=None, last=None, now=now_shanghai())
    found = service.diagnosis(db_session=db_session, period=today, now=now_shanghai())
    assert (found.diagnosed, found.diagnoses, found.turns, found.without_ref) == (
        1, 2, Spread(1, 2, 2), 1)  # fmt: skip
