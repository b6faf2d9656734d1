"""The conversations behind a figure: the same rows the figure counts, filtered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dropdesk.conversation.models import ChatSession
from dropdesk.dashboard import facts
from dropdesk.dashboard.facts import Conversations, Scope
from dropdesk.dashboard.period import Period
from dropdesk.merchant.models import Merchant

# Filters on a conversation's row (supervisors only) and on its ticket's row (anyone: an agent's
# rows are their own tickets). The value comes from the query string, as text.
CONVERSATION_FILTERS = ("channel", "day", "hour", "code", "outcome", "reason", "no_ref",
                        "terminal", "version")  # fmt: skip
TICKET_FILTERS = ("agent", "sla", "rating", "comment", "ticket")
LIMIT = 500


@dataclass(frozen=True)
class Listed:
    sid: str
    created_at: dt.datetime
    channel: str
    merchant_no: str
    merchant_name: str
    status: str


def _number(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


def _conversation_ids(period: Period, now: dt.datetime, filters: dict[str, str]) -> Select[Any]:
    conversations = Conversations(period, now)
    wanted = {k: v for k, v in filters.items() if k in CONVERSATION_FILTERS}
    if {"terminal", "version"} & set(wanted):
        rows = facts.terminal_rows(conversations).subquery()
        query = select(rows.c.sid)
        if "terminal" in wanted:
            query = query.where(rows.c.terminal_id == _number(wanted.pop("terminal")))
        if "version" in wanted:
            query = query.where(rows.c.version == wanted.pop("version"))
        if not wanted:
            return query
        inner = query.subquery()
        base = conversations.select("sid", *wanted).subquery()
        return select(base.c.sid).where(base.c.sid.in_(select(inner.c.sid)), *_where(base, wanted))
    base = conversations.select("sid", *wanted).subquery()
    return select(base.c.sid).where(*_where(base, wanted))


def _where(base: Any, wanted: dict[str, str]) -> list[Any]:
    conditions = []
    for name, value in wanted.items():
        column = base.c[name]
        if name == "day":
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                day = dt.date.min
            conditions.append(column == day.toordinal() - dt.date(1970, 1, 1).toordinal())
        elif value == "any":
            conditions.append(column.is_not(None))
        elif name == "outcome" and value == "bot":
            conditions.append(column.in_(facts.BOT_RESOLVED))
        elif name == "no_ref":  # conversations with (1) or without (0) a diagnosis lacking a ref
            conditions.append(column > 0 if value == "1" else column == 0)
        elif name == "hour":
            conditions.append(column == _number(value))
        elif name == "reason" and value == "unknown":
            conditions.append(column.is_(None))
        else:
            conditions.append(column == value)
    return conditions


def _ticket_ids(period: Period, now: dt.datetime, scope: Scope, filters: dict[str, str]
                ) -> Select[Any]:  # fmt: skip
    rows = facts.tickets(period, now, scope).subquery()
    query = select(rows.c.sid)
    for name, value in filters.items():
        if name == "agent" and value == "any":
            continue
        if name == "agent":
            agent = _number(value)
            query = query.where(rows.c.agent_id.is_(None) if agent == 0
                                else rows.c.agent_id == agent)  # fmt: skip
        elif name == "sla":
            query = query.where(rows.c.sla == value)
        elif name == "rating":
            query = query.where(
                rows.c.rating.is_not(None) if value == "any" else rows.c.rating == _number(value)
            )
        elif name == "comment":  # rated tickets the merchant left a comment on
            query = query.where(rows.c.comment.is_not(None))
        elif name == "ticket":
            query = query.where(rows.c.ticket_no == value)
    return query


def conversations(*, db_session: Session, period: Period, now: dt.datetime, scope: Scope,
                  filters: dict[str, str]) -> list[Listed]:  # fmt: skip
    """The conversations a figure counts, newest first (an agent: only their own tickets')."""
    query = select(ChatSession.id, ChatSession.created_at, ChatSession.channel,
                   Merchant.merchant_no, Merchant.name, ChatSession.status
                   ).join(Merchant, Merchant.id == ChatSession.merchant_id)  # fmt: skip
    # An agent's figures are their tickets': the conversation filters are for supervisors.
    by_conversation = {k: v for k, v in filters.items()
                       if k in CONVERSATION_FILTERS and scope.everyone}  # fmt: skip
    by_ticket = {k: v for k, v in filters.items() if k in TICKET_FILTERS}
    if by_conversation:
        query = query.where(ChatSession.id.in_(_conversation_ids(period, now, by_conversation)))
    if by_ticket or not scope.everyone:
        query = query.where(ChatSession.id.in_(_ticket_ids(period, now, scope, by_ticket)))
    if not by_conversation and not by_ticket and scope.everyone:
        query = query.where(ChatSession.created_at >= period.start,
                            ChatSession.created_at < period.end)  # fmt: skip
    rows = db_session.execute(
        query.order_by(ChatSession.created_at.desc(), ChatSession.id).limit(LIMIT)
    ).all()
    return [Listed(*row) for row in rows]
