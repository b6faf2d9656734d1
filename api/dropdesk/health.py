"""Liveness (/healthz) and readiness (/readyz) for `make run` and orchestrators.

/healthz asks nothing of anyone: the process answers, so it is alive (`dropdesk run` waits on
it, a liveness probe restarts the process when it stops answering). /readyz checks, at once and
each within a short timeout, what a merchant's turn needs: the database, Redis (when pub/sub is
Redis), Rasa and the action server; 503 names the ones that failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from dropdesk.config import Settings
from dropdesk.database.core import session_scope

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers. No dependency is asked."""
    return {"status": "ok"}


async def _database(settings: Settings) -> None:
    def ping() -> None:
        with session_scope(settings.database_url) as db:  # the process's own pool
            db.execute(text("SELECT 1"))

    await run_in_threadpool(ping)


async def _redis(settings: Settings) -> None:
    import redis.asyncio as aioredis

    client: Any = aioredis.from_url(
        settings.pubsub_url,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _http_ok(url: str) -> None:
    async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_SECONDS) as http:
        (await http.get(url)).raise_for_status()


def checks(settings: Settings) -> dict[str, Callable[[], Awaitable[None]]]:
    """What readiness asks, by name: Redis only when pub/sub is Redis."""
    found: dict[str, Callable[[], Awaitable[None]]] = {
        "database": lambda: _database(settings),
    }
    if settings.pubsub_url.startswith(("redis://", "rediss://", "unix://")):
        found["redis"] = lambda: _redis(settings)
    # /version needs no token (Rasa's /status does); the action server answers /health.
    found["rasa"] = lambda: _http_ok(f"{settings.rasa_url.rstrip('/')}/version")
    actions = _actions_url(settings)
    if actions:
        found["actions"] = lambda: _http_ok(f"{actions}/health")
    return found


def _actions_url(settings: Settings) -> str | None:
    """DROPDESK_ACTIONS_URL, or the local action server on DROPDESK_ACTIONS_PORT; off: none."""
    url = settings.actions_url.strip()
    if url.lower() in ("off", "none", "-"):
        return None
    return (url or f"http://127.0.0.1:{settings.actions_port}").rstrip("/")


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS + 0.5)
    except Exception as exc:
        # The class name only: a driver's message can carry a host or a user name.
        log.warning("readiness: %s failed: %r", name, exc)
        error = "timeout" if isinstance(exc, TimeoutError | httpx.TimeoutException) else (
            f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError)
            else type(exc).__name__
        )  # fmt: skip
        return {"ok": False, "error": error, "ms": _ms(started)}
    return {"ok": True, "ms": _ms(started)}


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready: every dependency answered; otherwise 503 with the ones that did not."""
    settings: Settings = request.app.state.settings
    found = checks(settings)
    results = await asyncio.gather(*(_run(name, check) for name, check in found.items()))
    report = dict(zip(found, results, strict=True))
    failed = [name for name, result in report.items() if not result["ok"]]
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": report}
    return JSONResponse(body, status_code=503 if failed else 200)
