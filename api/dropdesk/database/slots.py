"""How many database sessions a process has open at once, waited for on the event loop.

A session that has written holds a lock until it commits: SQLite's write lock, PostgreSQL's row
locks. A sync endpoint's session commits only after FastAPI has serialised the answer on a
worker thread. When every worker thread was taken by requests waiting for that lock (or for a
pooled connection), the holder had no thread to finish on: at 200 merchants the service stood
still for the 30 s busy timeout and answered 503 (bench/load_bench.py).

So a request waits for a slot before it opens a session, on the event loop where waiting takes
no thread; there are fewer slots than worker threads (Settings.database_sessions <
worker_threads) and than pooled connections (database.core.get_engine), so the holder of a lock
always finds a thread and nobody waits for a connection while holding one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import anyio
from anyio.lowlevel import RunVar

DEFAULT_SLOTS = 6
_capacity = DEFAULT_SLOTS
_semaphore: RunVar[anyio.Semaphore] = RunVar("dropdesk_database_slots")
# The task holding a slot: the same request asking again (a dependency's session, then the
# turn's own) does not wait for a second one; a task it starts does.
_holder: ContextVar[asyncio.Task[object] | None] = ContextVar("dropdesk_slot_holder",
                                                             default=None)  # fmt: skip


def configure(capacity: int) -> None:
    """Set the number of slots for event loops that have not used one yet (create_app)."""
    global _capacity
    if capacity < 1:
        raise ValueError("database sessions must be at least 1")
    _capacity = capacity


def _slots() -> anyio.Semaphore:
    try:
        return _semaphore.get()
    except LookupError:
        semaphore = anyio.Semaphore(_capacity)
        _semaphore.set(semaphore)
        return semaphore


@asynccontextmanager
async def slot() -> AsyncIterator[None]:
    """Hold one of the process's database slots (this event loop's) for the block."""
    task = asyncio.current_task()
    if task is not None and _holder.get() is task:
        yield
        return
    async with _slots():
        token = _holder.set(task)
        try:
            yield
        finally:
            _holder.reset(token)
