"""Request limits: bodies over the configured size refused before anything reads them, and
the chat API's per-merchant rate limit (429 with Retry-After; in Redis across replicas)."""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Protocol

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dropdesk import messages
from dropdesk.config import Settings
from dropdesk.deps import CurrentMerchantNo
from dropdesk.errors import TooManyRequestsError
from dropdesk.metrics import RATE_LIMITED

log = logging.getLogger(__name__)


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over max_bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send)
                return
        received = 0
        responded = False

        async def limited_receive() -> Message:
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    responded = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            if responded:
                await _too_large(send)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = json.dumps(
        {"error": {"code": "too_large", "message": messages.REQUEST_TOO_LARGE}},
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the chat API's per-merchant rate limit --------------------------------------------------


class RateLimiter(Protocol):
    """A generic cell rate (GCRA): `burst` at once, then one request per `interval` seconds."""

    async def hit(self, key: str) -> float:
        """Count a request: 0.0 when allowed, else the seconds until one would be."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """One process's counts (a single replica, tests)."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.interval = 60.0 / per_minute
        self.burst = max(1, burst)
        self._tat: dict[str, float] = {}
        self._pruned = time.monotonic()

    async def hit(self, key: str) -> float:
        now = time.monotonic()
        if now - self._pruned > 60:
            self._tat = {k: t for k, t in self._tat.items() if t > now}
            self._pruned = now
        tat = max(self._tat.get(key, now), now) + self.interval
        allow_at = tat - self.burst * self.interval
        if now < allow_at:
            return allow_at - now
        self._tat[key] = tat
        return 0.0

    async def close(self) -> None:
        return None


# Redis's own clock, so replicas whose clocks differ still share one schedule. Floats go back
# as strings: Lua numbers come back from Redis truncated to integers.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
tat = tat + interval
local allow_at = tat - burst * interval
if now < allow_at then return tostring(allow_at - now) end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((tat - now) * 1000) + 1)
return '0'
"""


class RedisRateLimiter:
    """Counts shared by every replica; lets requests through (and logs) while Redis is down."""

    def __init__(self, url: str, per_minute: int, burst: int) -> None:
        self.url = url
        self.interval = 60.0 / per_minute
        self.burst = max(1, burst)
        self._redis: Any = None
        self._script: Any = None
        self._warned = 0.0

    async def hit(self, key: str) -> float:
        try:
            if self._redis is None:
                import redis.asyncio as aioredis

                self._redis = aioredis.from_url(
                    self.url, socket_timeout=1.0, socket_connect_timeout=1.0
                )
                self._script = self._redis.register_script(_GCRA)
            wait = await self._script(keys=[f"dropdesk:ratelimit:{key}"],
                                      args=[self.interval, self.burst])  # fmt: skip
            return max(0.0, float(wait))
        except Exception as exc:  # fail open: a Redis outage must not silence every merchant
            if time.monotonic() - self._warned > 30:
                self._warned = time.monotonic()
                log.warning("rate limit not applied, Redis did not answer: %r", exc)
            return 0.0

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


def rate_limiter(settings: Settings) -> RateLimiter | None:
    """The chat limiter for these settings: Redis when pub/sub is Redis; None when off."""
    if settings.chat_rate_per_minute <= 0:
        return None
    if settings.pubsub_url.startswith(("redis://", "rediss://")):
        return RedisRateLimiter(
            settings.pubsub_url, settings.chat_rate_per_minute, settings.chat_rate_burst
        )
    return MemoryRateLimiter(settings.chat_rate_per_minute, settings.chat_rate_burst)


async def chat_rate_limit(request: Request, merchant_no: CurrentMerchantNo) -> None:
    """Router dependency: 429 with Retry-After once a merchant's POSTs exceed the rate."""
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or request.method != "POST":
        return
    wait = await limiter.hit(f"chat:{merchant_no}")
    if wait > 0:
        RATE_LIMITED.inc()
        seconds = max(1, math.ceil(wait))
        raise TooManyRequestsError(messages.CHAT_RATE_LIMITED.format(seconds=seconds),
                                   retry_after=seconds)  # fmt: skip
