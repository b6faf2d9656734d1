"""The access_token: cached and shared by every replica, refreshed by one process at a time.

A process that finds no valid token takes a short lease (database row or Redis key), asks
WeChat's stable_token endpoint, and writes the token for everyone; the others wait for it.
A token WeChat rejects (40001/42001) is replaced by at most one forced refresh, and only if
nobody replaced it already.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dropdesk.database.core import run_in_session
from dropdesk.wechat.models import AccessToken

LEASE_SECONDS = 15
MARGIN_SECONDS = 300  # refresh this long before WeChat's expiry
WAIT_SECONDS = 20

# Asks WeChat for a token: (force_refresh) -> (token, expires_in seconds).
Fetch = Callable[[bool], Awaitable[tuple[str, int]]]


class TokenUnavailableError(Exception):
    """No token could be had from WeChat in time."""


class TokenStore(Protocol):
    async def read(self) -> tuple[str, float] | None:
        """The shared token and its expiry (epoch seconds), if any."""

    async def write(self, token: str, expires_at: float) -> None: ...

    async def lease(self, owner: str) -> bool:
        """Take the refresh lease for LEASE_SECONDS; False while another holds it."""

    async def release(self, owner: str) -> None: ...


class AccessTokens:
    """The one way the process gets an access_token."""

    def __init__(self, store: TokenStore, fetch: Fetch) -> None:
        self.store = store
        self.fetch = fetch
        self._local = asyncio.Lock()  # one refresher per process; the lease is across processes

    async def get(self) -> str:
        found = await self._valid()
        if found is not None:
            return found
        return await self._refresh(force=False, rejected=None)

    async def replace(self, rejected: str) -> str:
        """WeChat refused `rejected` (40001/42001): one forced refresh, unless already replaced."""
        return await self._refresh(force=True, rejected=rejected)

    async def _valid(self, rejected: str | None = None) -> str | None:
        found = await self.store.read()
        if found is None:
            return None
        token, expires_at = found
        if token == rejected or expires_at - MARGIN_SECONDS <= time.time():
            return None
        return token

    async def _refresh(self, *, force: bool, rejected: str | None) -> str:
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + WAIT_SECONDS
        async with self._local:
            while True:
                found = await self._valid(rejected)
                if found is not None:
                    return found  # another coroutine or replica refreshed meanwhile
                if await self.store.lease(owner):
                    try:
                        # Checked again under the lease: the previous holder may just have written.
                        found = await self._valid(rejected)
                        if found is not None:
                            return found
                        token, expires_in = await self.fetch(force)
                        await self.store.write(token, time.time() + expires_in)
                        return token
                    finally:
                        await self.store.release(owner)
                if time.monotonic() > deadline:
                    raise TokenUnavailableError("no access_token: the refresh lease never freed")
                await asyncio.sleep(0.1)


class MemoryTokenStore:
    def __init__(self) -> None:
        self._token: tuple[str, float] | None = None
        self._lease: tuple[str, float] | None = None

    async def read(self) -> tuple[str, float] | None:
        return self._token

    async def write(self, token: str, expires_at: float) -> None:
        self._token = (token, expires_at)

    async def lease(self, owner: str) -> bool:
        if self._lease and self._lease[1] > time.monotonic():
            return False
        self._lease = (owner, time.monotonic() + LEASE_SECONDS)
        return True

    async def release(self, owner: str) -> None:
        if self._lease and self._lease[0] == owner:
            self._lease = None


def _epoch(value: dt.datetime | None) -> float:
    return value.timestamp() if value else 0.0


class DatabaseTokenStore:
    """One row per appid; the lease is a conditional UPDATE of refreshing_until."""

    def __init__(self, database_url: str, appid: str) -> None:
        self.database_url = database_url
        self.appid = appid
        self._owner_until: dt.datetime | None = None

    async def _run(self, work: Callable[[Session], Any]) -> Any:
        return await run_in_session(self.database_url, work)

    async def read(self) -> tuple[str, float] | None:
        def work(db: Session) -> tuple[str, float] | None:
            row = db.get(AccessToken, self.appid)
            if row is None or not row.token:
                return None
            return row.token, _epoch(row.expires_at)

        found: tuple[str, float] | None = await self._run(work)
        return found

    async def write(self, token: str, expires_at: float) -> None:
        when = dt.datetime.fromtimestamp(expires_at, dt.UTC)
        await self._run(
            lambda db: db.execute(
                update(AccessToken)
                .where(AccessToken.appid == self.appid)
                .values(token=token, expires_at=when)
            )
        )

    async def lease(self, owner: str) -> bool:
        now = dt.datetime.now(dt.UTC)
        until = now + dt.timedelta(seconds=LEASE_SECONDS)

        def work(db: Session) -> bool:
            if db.get(AccessToken, self.appid) is None:
                db.add(AccessToken(appid=self.appid))
                try:
                    db.flush()
                except IntegrityError:
                    db.rollback()  # another process created the row first
            done = db.execute(
                update(AccessToken)
                .where(
                    AccessToken.appid == self.appid,
                    or_(AccessToken.refreshing_until.is_(None),
                        AccessToken.refreshing_until < now),
                )
                .values(refreshing_until=until)
                .execution_options(synchronize_session=False)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

        taken: bool = await self._run(work)
        if taken:
            self._owner_until = until
        return taken

    async def release(self, owner: str) -> None:
        until = self._owner_until
        self._owner_until = None
        await self._run(
            lambda db: db.execute(
                update(AccessToken)
                .where(AccessToken.appid == self.appid, AccessToken.refreshing_until == until)
                .values(refreshing_until=None)
            )
        )


class RedisTokenStore:
    """A JSON value for the token, SET NX PX for the lease."""

    def __init__(self, redis: Any, appid: str) -> None:
        self.redis = redis
        self.key = f"dropdesk:wechat:token:{appid}"
        self.lease_key = f"dropdesk:wechat:token-lease:{appid}"

    async def read(self) -> tuple[str, float] | None:
        raw = await self.redis.get(self.key)
        if raw is None:
            return None
        found = json.loads(raw)
        return str(found["token"]), float(found["expires_at"])

    async def write(self, token: str, expires_at: float) -> None:
        value = json.dumps({"token": token, "expires_at": expires_at})
        await self.redis.set(self.key, value, ex=max(1, int(expires_at - time.time())))

    async def lease(self, owner: str) -> bool:
        return bool(await self.redis.set(self.lease_key, owner, nx=True, ex=LEASE_SECONDS))

    async def release(self, owner: str) -> None:
        if await self.redis.get(self.lease_key) == owner:
            await self.redis.delete(self.lease_key)
