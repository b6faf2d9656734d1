"""A session that has written finishes even when every worker thread is busy (database.slots).

The load bench once stood still at 200 merchants: requests waiting for SQLite's write lock held
every worker thread, and the session holding the lock needed one more thread to serialise its
answer before it could commit; after the 30 s busy timeout merchants got 503s. A small server
(4 worker threads) under many concurrent writes shows the same thing in seconds.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import pytest

from dropdesk.auth.service import issue_merchant_token
from dropdesk.config import Settings
from dropdesk.database import slots
from dropdesk.database.core import session_scope
from dropdesk.database.migrate import upgrade
from tests.api.factories import MERCHANT_A, row, store
from tests.api.live_service import live_service

WRITERS = 60
REF = "612300000450"


async def _write_at_once(base_url: str, merchant: dict[str, str], internal: dict[str, str]
                         ) -> list[int]:  # fmt: skip
    """WRITERS merchants open a session each and the bot diagnoses in it, all at once."""
    timeout = httpx.Timeout(20.0)  # the busy timeout is 30 s: a stall fails here
    limits = httpx.Limits(max_connections=WRITERS * 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as http:

        async def one() -> list[int]:
            opened = await http.post("/api/v1/sessions", headers=merchant)
            if opened.status_code != 201:
                return [opened.status_code]
            sid = opened.json()["session_id"]
            diagnosed = await http.post(f"/internal/v1/sessions/{sid}/diagnoses",
                                        headers=internal, json={"order_ref": REF})  # fmt: skip
            return [opened.status_code, diagnosed.status_code]

        answers = await asyncio.gather(*(one() for _ in range(WRITERS)), return_exceptions=True)
    return [code for a in answers for code in (a if isinstance(a, list) else [repr(a)])]


def test_concurrent_writes_never_wait_for_a_worker_thread_while_holding_the_lock(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'dropdesk.db'}"
    upgrade(database_url)
    with session_scope(database_url) as db:
        store(db, row(ref_no=REF))
    settings = Settings(env="test", database_url=database_url,
                        secret_key=secrets.token_urlsafe(32),
                        internal_token=secrets.token_urlsafe(32))  # fmt: skip
    env = {
        "DROPDESK_ENV": "test",
        "DROPDESK_DATABASE_URL": database_url,
        "DROPDESK_SECRET_KEY": settings.secret_key,
        "DROPDESK_INTERNAL_TOKEN": settings.internal_token,
        "DROPDESK_CHAT_RATE_PER_MINUTE": "0",
        "DROPDESK_WORKER_THREADS": "4",
        "DROPDESK_DATABASE_SESSIONS": "2",
    }
    merchant = {"Authorization": "Bearer "
                + issue_merchant_token(merchant_no=MERCHANT_A, settings=settings)}  # fmt: skip
    internal = {"Authorization": f"Bearer {settings.internal_token}"}
    with live_service(tmp_path / "service.log", env) as base_url:
        codes = asyncio.run(_write_at_once(base_url, merchant, internal))
    assert codes == [201, 200] * WRITERS, sorted(set(map(str, codes)))


def test_slots_are_counted_per_task_and_a_task_asking_twice_takes_one() -> None:
    slots.configure(2)
    held: list[str] = []

    async def hold(name: str, release: asyncio.Event) -> None:
        # The same task asks again: no second slot, no wait.
        async with slots.slot(), slots.slot():
            held.append(name)
            await release.wait()

    async def main() -> None:
        release = asyncio.Event()
        tasks = [asyncio.create_task(hold(n, release)) for n in ("a", "b", "c")]
        await asyncio.sleep(0.05)
        assert sorted(held) == ["a", "b"]  # two slots: the third task waits, on the loop
        release.set()
        await asyncio.gather(*tasks)
        assert sorted(held) == ["a", "b", "c"]

    try:
        asyncio.run(main())
    finally:
        slots.configure(slots.DEFAULT_SLOTS)


def test_fewer_database_sessions_than_worker_threads_is_required() -> None:
    with pytest.raises(ValueError, match="DROPDESK_DATABASE_SESSIONS"):
        Settings(env="test", worker_threads=8, database_sessions=8)
    assert Settings(env="test", worker_threads=8, database_sessions=7).database_sessions == 7
