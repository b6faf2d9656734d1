"""Claim each push once across replicas; a retry is answered from the first one's result.

WeChat retries a push up to three times when it has no answer within 5 s, sometimes while the
first request is still running. Backends: Redis (SET NX, production), the database (a primary
key, the default) and memory (one process).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dropdesk.database.core import run_in_session
from dropdesk.wechat.models import InboundClaim, InboundState

KEEP = dt.timedelta(hours=24)  # far longer than WeChat's retries (about 15 s)
_KEEP_SECONDS = int(KEEP.total_seconds())


class Dedupe(Protocol):
    async def claim(self, key: str) -> bool:
        """True for the first request with this key, False for every retry."""

    async def finish(self, key: str, state: InboundState, reply: str | None) -> None: ...

    async def outcome(self, key: str) -> tuple[str, str | None] | None: ...


async def wait_outcome(dedupe: Dedupe, key: str, timeout: float) -> tuple[str, str | None]:
    """A retry waits (polling) for the first request's outcome, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = await dedupe.outcome(key)
        if found is not None and found[0] != InboundState.RUNNING:
            return found
        if time.monotonic() >= deadline:
            return InboundState.RUNNING, None
        await asyncio.sleep(0.05)


class MemoryDedupe:
    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, str, str | None]] = {}

    async def claim(self, key: str) -> bool:
        now = time.monotonic()
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < _KEEP_SECONDS}
        if key in self._seen:
            return False
        self._seen[key] = (now, InboundState.RUNNING, None)
        return True

    async def finish(self, key: str, state: InboundState, reply: str | None) -> None:
        self._seen[key] = (time.monotonic(), state, reply)

    async def outcome(self, key: str) -> tuple[str, str | None] | None:
        found = self._seen.get(key)
        return (found[1], found[2]) if found else None


class DatabaseDedupe:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._claims = 0

    async def claim(self, key: str) -> bool:
        now = dt.datetime.now(dt.UTC)
        self._claims += 1
        sweep = self._claims % 500 == 1

        def work(db: Session) -> bool:
            # The primary key decides: a concurrent second insert waits, then fails.
            db.add(InboundClaim(key=key, state=InboundState.RUNNING, created_at=now))
            try:
                db.flush()
            except IntegrityError:
                db.rollback()
                return False
            return True

        if sweep:
            await run_in_session(
                self.database_url,
                lambda db: db.execute(
                    delete(InboundClaim).where(InboundClaim.created_at < now - KEEP)
                ),
            )
        return await run_in_session(self.database_url, work)

    async def finish(self, key: str, state: InboundState, reply: str | None) -> None:
        await run_in_session(
            self.database_url,
            lambda db: db.execute(
                update(InboundClaim).where(InboundClaim.key == key).values(state=state, reply=reply)
            ),
        )

    async def outcome(self, key: str) -> tuple[str, str | None] | None:
        def read(db: Session) -> tuple[str, str | None] | None:
            row = db.execute(
                select(InboundClaim.state, InboundClaim.reply).where(InboundClaim.key == key)
            ).first()
            return (row.state, row.reply) if row else None

        return await run_in_session(self.database_url, read)


class RedisDedupe:
    def __init__(self, redis: Any, prefix: str = "dropdesk:wechat:inbound:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, key: str) -> bool:
        value = json.dumps({"state": InboundState.RUNNING, "reply": None})
        return bool(await self.redis.set(self.prefix + key, value, nx=True, ex=_KEEP_SECONDS))

    async def finish(self, key: str, state: InboundState, reply: str | None) -> None:
        value = json.dumps({"state": state, "reply": reply}, ensure_ascii=False)
        await self.redis.set(self.prefix + key, value, ex=_KEEP_SECONDS)

    async def outcome(self, key: str) -> tuple[str, str | None] | None:
        raw = await self.redis.get(self.prefix + key)
        if raw is None:
            return None
        found = json.loads(raw)
        return str(found["state"]), found.get("reply")
