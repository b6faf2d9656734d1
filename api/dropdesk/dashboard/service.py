"""The dashboard's figures: SQL aggregates over the conversation and ticket rows of facts.py."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from dropdesk.agent.models import Agent
from dropdesk.conversation.models import ChatSession, SessionStatus
from dropdesk.dashboard import facts
from dropdesk.dashboard.facts import Conversations, Scope
from dropdesk.dashboard.period import Period, day_of
from dropdesk.database.core import get_session_factory
from dropdesk.diagnosis.models import DropCode
from dropdesk.merchant.models import Merchant
from dropdesk.terminal.models import Terminal

CHANNELS = ("widget", "wechat", "api")
SLAS = ("met", "breached", "pending")  # a ticket's first response, as facts.tickets says
UNASSIGNED = "未分配"


@dataclass(frozen=True)
class Spread:
    """How many, and the nearest-rank median and 90th percentile."""

    n: int = 0
    p50: int | None = None
    p90: int | None = None


@dataclass
class Traffic:
    by_day: dict[dt.date, dict[str, int]]
    by_hour: dict[int, dict[str, int]]

    def total(self, channel: str | None = None) -> int:
        return sum(c.get(channel, 0) if channel else sum(c.values()) for c in self.by_day.values())


@dataclass(frozen=True)
class CodeRow:
    code: str
    count: int
    amount: Decimal


@dataclass
class Outcomes:
    counts: dict[str, int]
    reasons: dict[str, int]
    by_day: dict[dt.date, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def bot_resolved(self) -> int:
        return sum(self.counts.get(o, 0) for o in facts.BOT_RESOLVED)

    @property
    def ended(self) -> int:
        return self.total - self.counts.get("open", 0)


@dataclass(frozen=True)
class DiagnosisFigures:
    diagnosed: int  # conversations
    diagnoses: int
    turns: Spread
    without_ref: int


@dataclass(frozen=True)
class AgentRow:
    agent_id: int | None
    name: str
    tickets: int
    wait: Spread
    handle: Spread
    sla: dict[str, int]


@dataclass
class QueueFigures:
    waiting_now: int
    overall: AgentRow
    agents: list[AgentRow] = field(default_factory=list)


@dataclass(frozen=True)
class RatedTicket:
    ticket_no: str
    sid: str
    agent: str
    rating: int
    resolution: str | None
    note: str | None
    created_at: dt.datetime
    comment: str | None = None  # what the merchant wrote after rating (cards masked)


@dataclass(frozen=True)
class RatingFigures:
    count: int
    average: Decimal | None
    distribution: dict[int, int]
    rated: list[RatedTicket]
    commented: int = 0
    comments: list[RatedTicket] = field(default_factory=list)  # the latest with a comment


@dataclass(frozen=True)
class TerminalRow:
    terminal_id: int
    terminal_no: str
    merchant_no: str
    merchant_name: str
    model: str | None
    version: str
    drops: int


@dataclass(frozen=True)
class VersionRow:
    version: str
    drops: int
    terminals: int


def rate(part: int, whole: int) -> Decimal | None:
    """A share in percent, one decimal, or None when there is nothing to divide."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / whole).quantize(Decimal("0.1"))


def _pivot(rows: list[tuple[int, str, int]]) -> dict[int, dict[str, int]]:
    table: dict[int, dict[str, int]] = defaultdict(dict)
    for key, column, count in rows:
        table[key][column] = table[key].get(column, 0) + count
    return table


def traffic(*, db_session: Session, period: Period, now: dt.datetime) -> Traffic:
    rows = Conversations(period, now).select("day", "hour", "channel").subquery()
    grouped = db_session.execute(
        select(rows.c.day, rows.c.hour, rows.c.channel, func.count())
        .group_by(rows.c.day, rows.c.hour, rows.c.channel)
    ).all()
    days = _pivot([(d, c, n) for d, _, c, n in grouped])
    hours = _pivot([(h, c, n) for _, h, c, n in grouped])
    return Traffic(
        by_day={day: dict(days.get(period.day_number(day), {})) for day in period.days},
        by_hour={hour: dict(hours.get(hour, {})) for hour in range(24)},
    )


def drop_codes(*, db_session: Session, period: Period, now: dt.datetime) -> list[CodeRow]:
    """Conversations by their latest diagnosis, with the amount involved (exact, in yuan)."""
    rows = Conversations(period, now).select("code", "amount_fen").subquery()
    found = {
        code: (count, fen or 0)
        for code, count, fen in db_session.execute(
            select(rows.c.code, func.count(), func.sum(rows.c.amount_fen))
            .where(rows.c.code.is_not(None))
            .group_by(rows.c.code)
        )
    }
    return [
        CodeRow(code.value, found[code.value][0], Decimal(found[code.value][1]) / 100)
        for code in DropCode
        if code.value in found
    ]


def outcomes(*, db_session: Session, period: Period, now: dt.datetime) -> Outcomes:
    rows = Conversations(period, now).select("day", "outcome", "reason").subquery()
    grouped = db_session.execute(
        select(rows.c.day, rows.c.outcome, rows.c.reason, func.count()).group_by(
            rows.c.day, rows.c.outcome, rows.c.reason
        )
    ).all()
    counts: dict[str, int] = defaultdict(int)
    reasons: dict[str, int] = defaultdict(int)
    by_day: dict[dt.date, dict[str, int]] = {day: {} for day in period.days}
    for day, outcome, reason, n in grouped:
        counts[outcome] += n
        if outcome == "escalated":
            reasons[reason or "unknown"] += n
        cell = by_day.setdefault(day_of(day), {})
        cell[outcome] = cell.get(outcome, 0) + n
    return Outcomes(counts=dict(counts), reasons=dict(reasons), by_day=by_day)


def spread_of(counts: dict[int, int]) -> Spread:
    """Nearest-rank median and P90 of values given as {value: how many} (as sqlfn ranks them)."""
    n = sum(counts.values())
    found: dict[int, int | None] = {50: None, 90: None}
    for percent in found:
        rank, seen = (n * percent + 99) // 100, 0
        for value in sorted(counts):
            seen += counts[value]
            if seen >= rank:
                found[percent] = value
                break
    return Spread(n, found[50], found[90]) if n else Spread()


def diagnosis(*, db_session: Session, period: Period, now: dt.datetime) -> DiagnosisFigures:
    """Turns to the first diagnosis, and how many diagnoses had no order reference to go on.

    Turns are a handful of small numbers: the database counts conversations per number of
    turns (a few rows) and the percentiles are read off those counts, with no sort of rows.
    """
    conversations = Conversations(period, now)
    diagnosed = (
        conversations.select("turns", "diagnoses", "no_ref")
        .where(conversations.diagnoses().c.session_id.is_not(None))
        .subquery()
    )
    per_turns = db_session.execute(
        select(diagnosed.c.turns, func.count(), func.sum(diagnosed.c.diagnoses),
               func.sum(diagnosed.c.no_ref)).group_by(diagnosed.c.turns)
    ).all()  # fmt: skip
    return DiagnosisFigures(
        diagnosed=sum(n for _, n, _, _ in per_turns),
        diagnoses=sum(int(d) for _, _, d, _ in per_turns),
        turns=spread_of({t: n for t, n, _, _ in per_turns if t is not None}),
        without_ref=sum(int(r) for _, _, _, r in per_turns),
    )


def _agent_names(db_session: Session) -> dict[int, str]:
    return {agent_id: name for agent_id, name in db_session.execute(select(Agent.id, Agent.name))}


def queue(*, db_session: Session, period: Period, now: dt.datetime, scope: Scope) -> QueueFigures:
    """The queue now, and per agent: waits before joining, handle times, first-response SLA.

    The tickets are counted per (agent, wait, handle time, SLA): the percentiles are read off
    those counts (nearest rank, as for the turns), with no sort of rows in the database.
    """
    waiting = db_session.scalar(
        select(func.count()).where(ChatSession.status == SessionStatus.QUEUED)
    )
    rows = facts.tickets(period, now, scope).subquery("tickets")
    agent = func.coalesce(rows.c.agent_id, 0)
    columns = ("wait_s", "handle_s")
    # Per agent key, and -1 for everyone: {column: {value: n}} and {sla: n}.
    values: dict[int, dict[str, dict[int, int]]] = defaultdict(
        lambda: {column: defaultdict(int) for column in columns})  # fmt: skip
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, wait_s, handle_s, sla, n in db_session.execute(
        select(agent, rows.c.wait_s, rows.c.handle_s, rows.c.sla, func.count())
        .group_by(agent, rows.c.wait_s, rows.c.handle_s, rows.c.sla)
    ):
        for group in (key, -1):
            for column, value in (("wait_s", wait_s), ("handle_s", handle_s)):
                if value is not None:
                    values[group][column][value] += n
            counts[group][sla] += n
    names = _agent_names(db_session)

    def agent_row(key: int) -> AgentRow:
        return AgentRow(
            agent_id=None if key <= 0 else key,
            name="合计" if key == -1 else names.get(key, UNASSIGNED),
            tickets=sum(counts[key].values()),
            wait=spread_of(values[key]["wait_s"]),
            handle=spread_of(values[key]["handle_s"]),
            sla={sla: n for sla in SLAS if (n := counts[key].get(sla, 0))},
        )

    agents = sorted((k for k in list(counts) if k != -1), key=lambda k: (k == 0, names.get(k, "")))
    return QueueFigures(waiting_now=waiting or 0, overall=agent_row(-1),
                        agents=[agent_row(k) for k in agents])


def ratings(*, db_session: Session, period: Period, now: dt.datetime, scope: Scope,
            limit: int = 100, comments: int = 10) -> RatingFigures:  # fmt: skip
    rows = facts.rated(period, scope).subquery()
    distribution: dict[int, int] = {
        score: n
        for score, n in db_session.execute(
            select(rows.c.rating, func.count()).group_by(rows.c.rating)
        )
    }
    count, total, commented = db_session.execute(
        select(func.count(), func.coalesce(func.sum(rows.c.rating), 0),
               func.count(rows.c.rating_comment))
    ).one()  # fmt: skip
    names = _agent_names(db_session)
    newest = (rows.c.created_at.desc(), rows.c.id.desc())
    listed = db_session.execute(select(rows).order_by(*newest).limit(limit)).all()
    with_comment = db_session.execute(
        select(rows).where(rows.c.rating_comment.is_not(None)).order_by(*newest).limit(comments)
    ).all()

    def read(r: Any) -> RatedTicket:
        return RatedTicket(
            ticket_no=r.ticket_no, sid=r.session_id,
            agent=names.get(r.assignee_id or 0, UNASSIGNED), rating=r.rating,
            resolution=r.resolution, note=r.resolution_note, created_at=r.created_at,
            comment=r.rating_comment,
        )  # fmt: skip

    return RatingFigures(
        count=count,
        average=(Decimal(total) / count).quantize(Decimal("0.01")) if count else None,
        distribution={score: distribution.get(score, 0) for score in range(5, 0, -1)},
        rated=[read(r) for r in listed],
        commented=commented,
        comments=[read(r) for r in with_comment],
    )


def terminals(*, db_session: Session, period: Period, now: dt.datetime, limit: int = 10
              ) -> tuple[list[TerminalRow], list[VersionRow]]:  # fmt: skip
    """Terminals whose sales drop most, and the same counts summed by software version.

    The conversations are counted per (merchant, terminal number) first: the terminals and
    merchants are then joined to a few hundred counts, not to every conversation.
    """
    conversations = Conversations(period, now)
    rows = (
        conversations.select("merchant_id", "terminal_no")
        .where(conversations.latest.code.in_([c.value for c in facts.TERMINAL_CODES]))
        .subquery()
    )
    counted = (
        select(rows.c.merchant_id, rows.c.terminal_no, func.count().label("drops"))
        .group_by(rows.c.merchant_id, rows.c.terminal_no)
        .subquery()
    )
    per_terminal = [
        TerminalRow(*row)
        for row in db_session.execute(
            select(Terminal.id, counted.c.terminal_no, Merchant.merchant_no, Merchant.name,
                   Terminal.model, func.coalesce(Terminal.software_version, "未知"),
                   counted.c.drops)
            .join(Terminal, and_(Terminal.merchant_id == counted.c.merchant_id,
                                 Terminal.terminal_no == counted.c.terminal_no))
            .join(Merchant, Merchant.id == counted.c.merchant_id)
            .order_by(counted.c.drops.desc(), counted.c.terminal_no, Terminal.id)
        )
    ]  # fmt: skip
    versions: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for terminal in per_terminal:
        versions[terminal.version][0] += terminal.drops
        versions[terminal.version][1] += 1
    ranked = sorted(versions.items(), key=lambda item: (-item[1][0], item[0]))
    return per_terminal[:limit], [VersionRow(v, n, t) for v, (n, t) in ranked]

@dataclass(frozen=True)
class TeamFigures:
    traffic: Traffic
    outcomes: Outcomes
    codes: list[CodeRow]
    diagnosis: DiagnosisFigures
    terminals: tuple[list[TerminalRow], list[VersionRow]]
    queue: QueueFigures
    ratings: RatingFigures


def _figure(database_url: str, figure: Callable[..., Any], period: Period,
            now: dt.datetime) -> Any:  # fmt: skip
    db_session = get_session_factory(database_url)()
    try:
        return figure(db_session=db_session, period=period, now=now)
    finally:
        db_session.close()


def team(*, database_url: str, period: Period, now: dt.datetime) -> TeamFigures:
    """The team's figures, each on a connection of its own at the same time.

    The queries are independent and each keeps one core of the database busy: side by side
    the page waits for the slowest, not for their sum. Each reads its own snapshot.
    """
    figures: dict[str, Callable[..., Any]] = {
        "traffic": traffic, "outcomes": outcomes, "codes": drop_codes,
        "diagnosis": diagnosis, "terminals": terminals,
        "queue": partial(queue, scope=Scope()), "ratings": partial(ratings, scope=Scope()),
    }  # fmt: skip
    with ThreadPoolExecutor(max_workers=len(figures), thread_name_prefix="dashboard") as pool:
        running = {name: pool.submit(_figure, database_url, figure, period, now)
                   for name, figure in figures.items()}  # fmt: skip
        return TeamFigures(**{name: future.result() for name, future in running.items()})
