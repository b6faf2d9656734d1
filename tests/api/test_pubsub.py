"""Per-session fan-out on both pub/sub backends."""

from __future__ import annotations

import asyncio
import socket

import pytest

from dropdesk.pubsub.broadcast import Broadcast, session_channel


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/15"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param.startswith("redis") and not _redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return str(request.param)


def test_subscribers_get_only_their_session(url: str) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        broadcast = Broadcast(url)
        await broadcast.connect()
        got_a: list[str] = []
        got_b: list[str] = []
        try:
            async with (
                broadcast.subscribe(session_channel("a")) as a,
                broadcast.subscribe(session_channel("b")) as b,
            ):
                await asyncio.sleep(0.1)  # let Redis register the subscriptions
                await broadcast.publish(session_channel("a"), "for a")
                await broadcast.publish(session_channel("b"), "for b")
                await broadcast.publish(session_channel("a"), "again a")
                got_a += [await asyncio.wait_for(anext(a), 2) for _ in range(2)]
                got_b.append(await asyncio.wait_for(anext(b), 2))
            # After leaving, publishing to nobody is harmless.
            await broadcast.publish(session_channel("a"), "late")
        finally:
            await broadcast.disconnect()
        return got_a, got_b

    got_a, got_b = asyncio.run(scenario())
    assert got_a == ["for a", "again a"]
    assert got_b == ["for b"]


def test_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        Broadcast("kafka://x")
