"""The dashboard's parts: its periods, its link to the bot's words, its migration, its charts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from dropdesk import demo
from dropdesk.config import ROOT
from dropdesk.conversation.models import ChatSession
from dropdesk.dashboard import charts
from dropdesk.dashboard.facts import SOLVED_REPLY
from dropdesk.dashboard.period import Period, parse
from dropdesk.database.core import get_engine
from dropdesk.database.migrate import alembic_config, upgrade
from dropdesk.timezone import SHANGHAI

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
