"""Every figure of the dashboard over a known history, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from dropdesk.dashboard import drilldown, service
from dropdesk.dashboard.facts import Scope
from dropdesk.dashboard.period import Period
from dropdesk.dashboard.service import CodeRow, Spread
from tests.api.dashboard_history import FIRST, LAST, NOW, Known, build

PERIOD = Period("custom", FIRST, LAST)
TEAM = Scope()


@pytest.fixture
def known(db_session: Session) -> Known:
    return build(db_session)


def listed(db_session: Session, known: Known, scope: Scope = TEAM, **filters: str) -> set[str]:
    found = drilldown.conversations(db_session=db_session, period=PERIOD, now=NOW, scope=scope,
                                    filters=filters)  # fmt: skip
    names = {sid: name for name, sid in known.sids.items()}
    return {names[c.sid] for c in found}


def test_conversations_per_day_and_hour_by_channel(db_session: Session, known: Known) -> None:
    traffic = service.traffic(db_session=db_session, period=PERIOD, now=NOW)
    assert traffic.by_day == {
        dt.date(2026, 11, 18): {"api": 1, "widget": 2},
        dt.date(2026, 11, 19): {"wechat": 1, "widget": 1, "api": 1},
        dt.date(2026, 11, 20): {"wechat": 1, "widget": 1},
    }
    hours = {h: c for h, c in traffic.by_hour.items() if c}
    assert hours == {0: {"api": 1}, 8: {"wechat": 1}, 9: {"wechat": 1}, 10: {"widget": 2},
                     12: {"widget": 1}, 14: {"widget": 1}, 23: {"api": 1}}  # fmt: skip
    assert (traffic.total(), traffic.total("widget")) == (8, 4)
    assert listed(db_session, known, day="2026-11-18") == {"midnight", "solved", "silent"}
    assert listed(db_session, known, hour="23", channel="api") == {"late_night"}
    assert "before" not in listed(db_session, known)


def test_drop_codes_with_exact_amounts(db_session: Session, known: Known) -> None:
    assert service.drop_codes(db_session=db_session, period=PERIOD, now=NOW) == [
        CodeRow("declined", 1, Decimal("88.00")),
        CodeRow("reversed", 1, Decimal("256.00")),
        CodeRow("approved_not_printed", 1, Decimal("320.50")),
        CodeRow("settled", 1, Decimal("560.00")),
        CodeRow("duplicate_charge", 1, Decimal("199.00")),
        CodeRow("reversal_failed", 1, Decimal("450.00")),
    ]
    assert listed(db_session, known, code="reversal_failed") == {"needs_human"}


def test_bot_resolution_and_escalations_by_reason(db_session: Session, known: Known) -> None:
    found = service.outcomes(db_session=db_session, period=PERIOD, now=NOW)
    assert found.counts == {"solved": 1, "silent": 2, "escalated": 3, "undiagnosed": 1,
                            "open": 1}  # fmt: skip
    assert (found.bot_resolved, found.ended) == (3, 7)
    assert service.rate(found.bot_resolved, found.ended) == Decimal("42.9")
    assert found.reasons == {"needs_human": 1, "merchant_request": 1, "not_solved": 1}
    assert found.by_day[dt.date(2026, 11, 18)] == {"undiagnosed": 1, "solved": 1, "silent": 1}
    assert found.by_day[dt.date(2026, 11, 20)] == {"escalated": 1, "open": 1}
    assert listed(db_session, known, outcome="silent") == {"silent", "reversed"}
    assert listed(db_session, known, outcome="bot") == {"solved", "silent", "reversed"}
    assert listed(db_session, known, outcome="escalated", reason="not_solved") == {"queued"}


def test_turns_to_a_diagnosis_and_diagnoses_without_a_reference(db_session: Session,
                                                                 known: Known) -> None:  # fmt: skip
    found = service.diagnosis(db_session=db_session, period=PERIOD, now=NOW)
    # turns 1, 2, 2, 2, 3, 4: nearest rank 3 of 6 is 2, rank 6 of 6 is 4
    assert (found.diagnosed, found.diagnoses) == (6, 6)
    assert found.turns == Spread(6, 2, 4)
    assert found.without_ref == 2
    assert listed(db_session, known, no_ref="1") == {"silent", "queued"}
    assert len(listed(db_session, known, no_ref="any")) == 6


def test_queue_waits_handle_times_and_sla_per_agent(db_session: Session, known: Known) -> None:
    found = service.queue(db_session=db_session, period=PERIOD, now=NOW, scope=Scope())
    assert found.waiting_now == 1
    overall = found.overall
    assert (overall.tickets, overall.wait, overall.handle) == (3, Spread(2, 240, 720),
                                                                Spread(2, 1200, 1800))
    assert overall.sla == {"met": 1, "breached": 2}
    rows = {r.name: (r.tickets, r.wait, r.handle, r.sla) for r in found.agents}
    assert rows == {
        "alice": (1, Spread(1, 240, 240), Spread(1, 1200, 1200), {"met": 1}),
        "bob": (1, Spread(1, 720, 720), Spread(1, 1800, 1800), {"breached": 1}),
        "未分配": (1, Spread(), Spread(), {"breached": 1}),
    }
    assert listed(db_session, known, sla="breached") == {"late_night", "queued"}
    assert listed(db_session, known, agent=str(known.agents["alice"])) == {"needs_human"}
    assert listed(db_session, known, agent="0") == {"queued"}
    assert listed(db_session, known, agent="any") == {"needs_human", "late_night", "queued"}


def test_ratings_average_distribution_and_notes(db_session: Session, known: Known) -> None:
    found = service.ratings(db_session=db_session, period=PERIOD, now=NOW, scope=Scope())
    assert (found.count, found.average) == (2, Decimal("3.50"))
    assert found.distribution == {5: 1, 4: 0, 3: 0, 2: 1, 1: 0}
    assert [(r.agent, r.rating, r.note) for r in found.rated] == [
        ("bob", 2, ""), ("alice", 5, "已联系收单行补结算")]  # fmt: skip
    assert listed(db_session, known, rating="2") == {"late_night"}


def test_terminals_and_versions_that_drop_most(db_session: Session, known: Known) -> None:
    top, versions = service.terminals(db_session=db_session, period=PERIOD, now=NOW)
    assert [(t.terminal_no, t.version, t.drops) for t in top] == [
        ("T0000001", "V2.3.1", 3), ("T0000002", "V3.0.2", 1)]  # fmt: skip
    assert [(v.version, v.drops, v.terminals) for v in versions] == [
        ("V2.3.1", 3, 1), ("V3.0.2", 1, 1)]  # fmt: skip
    assert listed(db_session, known, terminal=str(top[0].terminal_id)) == {
        "solved", "needs_human", "queued"}  # fmt: skip
    assert listed(db_session, known, version="V3.0.2") == {"reversed"}


def test_an_agent_sees_only_their_own_figures(db_session: Session, known: Known) -> None:
    alice = Scope(agent_id=known.agents["alice"])
    found = service.queue(db_session=db_session, period=PERIOD, now=NOW, scope=alice)
    assert [r.name for r in found.agents] == ["alice"]
    assert found.overall.tickets == 1
    rated = service.ratings(db_session=db_session, period=PERIOD, now=NOW, scope=alice)
    assert [r.rating for r in rated.rated] == [5]
    # Conversation filters are a supervisor's: an agent's list is their own tickets' only.
    assert listed(db_session, known, alice) == {"needs_human"}
    assert listed(db_session, known, alice, channel="api") == {"needs_human"}
    assert listed(db_session, known, alice, agent=str(known.agents["bob"])) == set()
