"""Per-channel pub/sub with swappable backends chosen by URL (memory://, redis://)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import urlparse


class Backend(Protocol):
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]: ...


class MemoryBackend:
    """In-process fan-out: one queue per subscriber."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._subscribers.clear()

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)

        async def messages() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(queue)
            if not subscribers:
                self._subscribers.pop(channel, None)


class RedisBackend:
    """Redis PUBLISH/SUBSCRIBE: fan-out across replicas."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._redis: Any = None

    async def connect(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(self._url, decode_responses=True)

    async def disconnect(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(channel)

        async def messages() -> AsyncIterator[str]:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield str(item["data"])

        try:
            yield messages()
        finally:
            await pubsub.unsubscribe(channel)
            await pubsub.aclose()


class Broadcast:
    """The one pub/sub object of a process; backend chosen by URL."""

    def __init__(self, url: str) -> None:
        scheme = urlparse(url).scheme
        if scheme == "memory":
            self.backend: MemoryBackend | RedisBackend = MemoryBackend()
        elif scheme in {"redis", "rediss"}:
            self.backend = RedisBackend(url)
        else:
            raise ValueError(f"unsupported pub/sub URL: {url}")

    async def connect(self) -> None:
        await self.backend.connect()

    async def disconnect(self) -> None:
        await self.backend.disconnect()

    async def publish(self, channel: str, message: str) -> None:
        await self.backend.publish(channel, message)

    def subscribe(self, channel: str):  # type: ignore[no-untyped-def]
        """Async context manager yielding an async iterator of messages on channel."""
        return self.backend.subscribe(channel)


def session_channel(session_id: str) -> str:
    """The channel that carries one chat session's messages to its viewers."""
    return f"session:{session_id}"
