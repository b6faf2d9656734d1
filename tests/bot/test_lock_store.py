"""Two Rasa replicas taking a ticket for one conversation at once get different tickets
(Rasa 3.6's RedisLockStore read-modify-writes without a transaction and gives both ticket 0)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import RedisLockStore

from bot import lock_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH")
    port = _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def _race(port: int, replicas: int = 8) -> list[int]:
    """Every 'replica' (its own store and connection) issues a ticket at the same moment."""
    stores = [
        RedisLockStore(host="127.0.0.1", port=port, key_prefix="race") for _ in range(replicas)
    ]
    barrier = threading.Barrier(replicas)
    tickets: list[int] = []

    def take(store: RedisLockStore) -> None:
        barrier.wait()
        tickets.append(store.issue_ticket("conversation-1"))

    threads = [threading.Thread(target=take, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stores[0].red.delete(stores[0].key_prefix + "conversation-1")
    return tickets


def test_concurrent_tickets_are_all_different(redis_port: int) -> None:
    lock_store.install()
    for _ in range(20):
        tickets = _race(redis_port)
        assert sorted(tickets) == list(range(len(tickets))), tickets


def test_cleanup_keeps_a_ticket_issued_meanwhile(redis_port: int) -> None:
    lock_store.install()
    first = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="keep")
    second = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="keep")
    mine = first.issue_ticket("c")
    theirs = second.issue_ticket("c")
    first.cleanup("c", mine)
    lock = second.get_lock("c")
    assert lock is not None and not lock.is_locked(theirs)
    second.cleanup("c", theirs)
    assert second.get_lock("c") is None
