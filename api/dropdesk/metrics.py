"""Prometheus metrics at /metrics: turns, latency, bot errors, escalations, queue, WeChat.

Each process counts its own: scrape every replica (a Kubernetes pod, a compose service
replica), as Prometheus does with one target per pod, and sum in the query. Counters live in
prometheus-client's process-wide registry; several uvicorn workers in one container
(`--workers N`) each answer for themselves, unless PROMETHEUS_MULTIPROC_DIR names a folder
shared by the workers (prometheus-client's multiprocess mode), which /metrics then reads.
The queue is not counted but read from the database at scrape time, so every replica reports
the same, shared figure (take max, not sum).

The conversation code is not edited for this: the bot client is wrapped (`MeteredBot`), a
process's `Turns.merchant_says` is wrapped (`observe_turns`), and escalations are counted by a
dependency on the internal router, after the escalation is committed.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from dropdesk.database.core import session_scope
from dropdesk.dialogue.client import BotClient, BotTurn, BotUnavailableError

log = logging.getLogger(__name__)

# A turn is a merchant message taken and answered (stored); Rasa's round trip is a part of it.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)

TURNS = Counter(
    "dropdesk_turns",
    "Merchant messages taken (chat API, widget, WeChat), by the session's status after the turn"
    " (bot, queued, agent, closed) or error",
    ["outcome"],
)
TURN_SECONDS = Histogram(
    "dropdesk_turn_duration_seconds",
    "From a merchant message to its stored answer, as the merchant waits",
    buckets=LATENCY_BUCKETS,
)
BOT_SECONDS = Histogram(
    "dropdesk_bot_request_duration_seconds",
    "Round trip to Rasa for one message (answered or not)",
    buckets=LATENCY_BUCKETS,
)
BOT_ERRORS = Counter(
    "dropdesk_bot_errors",
    "Messages Rasa (or the action server behind it) did not answer: timeout, unreachable,"
    " http_<status> (503: an action failed), bad_answer; reset for a failed tracker reset",
    ["kind"],
)
ESCALATIONS = Counter(
    "dropdesk_escalations", "Sessions the bot handed to a person, by reason", ["reason"]
)
WECHAT_DELIVERIES = Counter(
    "dropdesk_wechat_deliveries",
    "Answers to WeChat followers: passive (in the reply), sent (customer-service API),"
    " unreachable (45015/45047, unsubscribed), failed",
    ["status"],
)
RATE_LIMITED = Counter(
    "dropdesk_rate_limited", "Chat API requests refused by the per-merchant rate limit"
)
_ESCALATION_REASONS = frozenset({"merchant_request", "needs_human", "fallback", "not_solved"})


def _error_kind(exc: BotUnavailableError) -> str:
    return exc.kind


class MeteredBot:
    """A BotClient that times every round trip to Rasa and counts the failures."""

    def __init__(self, inner: BotClient) -> None:
        self.inner = inner

    async def send(self, **kwargs: Any) -> BotTurn:
        started = time.perf_counter()
        try:
            return await self.inner.send(**kwargs)
        except BotUnavailableError as exc:
            BOT_ERRORS.labels(kind=_error_kind(exc)).inc()
            raise
        finally:
            BOT_SECONDS.observe(time.perf_counter() - started)

    async def reset(self, **kwargs: Any) -> None:
        try:
            await self.inner.reset(**kwargs)
        except BotUnavailableError:
            BOT_ERRORS.labels(kind="reset").inc()
            raise

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def observe_turns(turns: Any) -> None:
    """Count and time every merchant turn this process runs (chat API, widget and WeChat)."""
    inner: Callable[..., Awaitable[Any]] = turns.merchant_says

    @functools.wraps(inner)
    async def merchant_says(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await inner(*args, **kwargs)
        except Exception:
            TURNS.labels(outcome="error").inc()
            raise
        finally:
            TURN_SECONDS.observe(time.perf_counter() - started)
        status = getattr(getattr(result, "session", None), "status", None)
        TURNS.labels(outcome=str(getattr(status, "value", status) or "unknown")).inc()
        return result

    turns.merchant_says = merchant_says


async def count_escalations(request: Request) -> AsyncIterator[None]:
    """Router dependency: count an escalation once its request succeeded (committed)."""
    yield
    if request.method == "POST" and request.url.path.endswith("/escalations"):
        try:
            reason = str((await request.json()).get("reason"))
        except Exception:
            reason = "unknown"
        ESCALATIONS.labels(reason=reason if reason in _ESCALATION_REASONS else "other").inc()


class QueueCollector(Collector):
    """The human queue, read from the database at scrape time (shared by every replica)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterable[Metric]:
        from dropdesk.conversation.models import ChatSession, SessionStatus

        sessions = GaugeMetricFamily(
            "dropdesk_queue_sessions",
            "Sessions waiting for a person (queued) or held by one (agent), from the database",
            labels=["status"],
        )
        oldest = GaugeMetricFamily(
            "dropdesk_queue_oldest_wait_seconds",
            "How long the longest-waiting queued session has waited (0: none waiting)",
        )
        statuses = (SessionStatus.QUEUED, SessionStatus.AGENT)
        try:
            with session_scope(self.database_url) as db:
                rows = db.execute(
                    select(ChatSession.status, func.count(), func.min(ChatSession.queued_at))
                    .where(ChatSession.status.in_(statuses))
                    .group_by(ChatSession.status)
                ).all()
        except Exception:
            log.warning("queue metrics: the database did not answer", exc_info=True)
            return
        found = {str(status): (count, first) for status, count, first in rows}
        for status in statuses:
            sessions.add_metric([status.value], found.get(status.value, (0, None))[0])
        first_queued = found.get(SessionStatus.QUEUED.value, (0, None))[1]
        wait = time.time() - first_queued.timestamp() if first_queued is not None else 0.0
        oldest.add_metric([], max(0.0, wait))
        yield sessions
        yield oldest


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format: this process's counters, then the queue from the database."""
    queue = CollectorRegistry(auto_describe=False)
    queue.register(QueueCollector(request.app.state.settings.database_url))
    body = generate_latest(_process_registry()) + generate_latest(queue)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
