"""Rasa's Redis lock store, made atomic across replicas.

Rasa 3.6's RedisLockStore keeps each conversation's ticket lock as one JSON value and changes
it by GET, change in Python, SET. Two Rasa replicas that take a message of the same
conversation at the same moment both read "no lock", both write a lock with ticket 0, and both
run the turn at once; the SQL tracker store then keeps one turn's events and drops the other's
(tests/e2e/test_production_stack.py saw a merchant message vanish from Rasa's tracker). The
same race lets `cleanup` delete a ticket another replica has just been issued.

Here every change of a lock (issue a ticket, drop expired tickets, finish a ticket and delete
the lock when nobody waits) is one Redis transaction: WATCH the key, read, change, MULTI/EXEC,
and again if another replica changed it in between. The lock's format and the waiting loop
are Rasa's own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import rasa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

WRITTEN_FOR = "3.6.21"
T = TypeVar("T")
Write = Literal["set", "delete", "keep"]


def _atomically(
    store: RedisLockStore,
    conversation_id: str,
    change: Callable[[TicketLock | None], tuple[Write, TicketLock | None, T]],
) -> T:
    from redis.exceptions import WatchError

    key = store.key_prefix + conversation_id
    with store.red.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                write, changed, result = change(lock)
                pipe.multi()
                if write == "set" and changed is not None:
                    pipe.set(key, changed.dumps())
                elif write == "delete":
                    pipe.delete(key)
                pipe.execute()
                return result
            except WatchError:
                continue  # another replica changed the lock: read it again


def issue_ticket(
    self: RedisLockStore, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME
) -> int:
    def change(lock: TicketLock | None) -> tuple[Write, TicketLock | None, int]:
        lock = lock or TicketLock(conversation_id)
        return "set", lock, lock.issue_ticket(lock_lifetime)

    try:
        return _atomically(self, conversation_id, change)
    except Exception as e:  # as Rasa's own: the turn fails with a LockError
        raise LockError(f"Error while acquiring lock. Error:\n{e}") from e


def update_lock(self: RedisLockStore, conversation_id: str) -> None:
    def change(lock: TicketLock | None) -> tuple[Write, TicketLock | None, None]:
        if lock is None:
            return "keep", None, None
        lock.remove_expired_tickets()
        return "set", lock, None

    _atomically(self, conversation_id, change)


def cleanup(self: RedisLockStore, conversation_id: str, ticket_number: int) -> None:
    def change(lock: TicketLock | None) -> tuple[Write, TicketLock | None, None]:
        if lock is None:
            return "keep", None, None
        lock.remove_ticket_for(ticket_number)
        return ("set" if lock.is_someone_waiting() else "delete"), lock, None

    _atomically(self, conversation_id, change)


def install() -> None:
    """Called by bot.server before Rasa starts."""
    installed = getattr(rasa, "__version__", "unknown")
    if installed != WRITTEN_FOR:
        raise RuntimeError(
            f"bot/lock_store.py patches RedisLockStore of rasa {WRITTEN_FOR}, but rasa "
            f"{installed} is installed: compare LockStore.issue_ticket, update_lock and cleanup "
            f"with this file, then update WRITTEN_FOR (or drop the patch)."
        )
    patched: dict[str, Any] = {
        "issue_ticket": issue_ticket, "update_lock": update_lock, "cleanup": cleanup,
    }  # fmt: skip
    for name, function in patched.items():
        setattr(RedisLockStore, name, function)
