"""The access_token: one refresher across processes, one forced refresh on 40001/42001."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest

from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.wechat.client import WeChatAPI, WeChatError
from dropdesk.wechat.simulator import FakeWeChat
from dropdesk.wechat.token import DatabaseTokenStore, MemoryTokenStore, RedisTokenStore
from tests.api.wechat_helpers import redis_reachable

APPID, SECRET = "wx00000000000token", "token-test-secret"
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeChat, str]]:
    wechat = FakeWeChat(appid=APPID, secret=SECRET)
    with serve_in_thread(wechat.app, free_port()) as base_url:
        yield wechat, base_url


def _store(kind: str, url: str, appid: str) -> Any:
    if kind == "redis":
        import redis.asyncio as aioredis

        return RedisTokenStore(aioredis.from_url(url, decode_responses=True), appid)
    return DatabaseTokenStore(url, appid)


def _one_process(kind: str, url: str, appid: str, base_url: str, start: Any, out: Any) -> None:
    """A replica that needs a token right now (runs in its own process)."""

    async def run() -> str:
        api = WeChatAPI(base_url=base_url, appid=appid, secret=SECRET,
                        store=_store(kind, url, appid))  # fmt: skip
        try:
            return await api.tokens.get()
        finally:
            await api.close()

    start.wait()
    out.put(asyncio.run(run()))


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_two_processes_refreshing_at_once_ask_wechat_once(
    kind: str, database_url: str, fake: tuple[FakeWeChat, str]
) -> None:
    if kind == "redis" and not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    wechat, base_url = fake
    wechat.token_delay = 0.5  # the first is still asking when the second arrives
    appid = f"{APPID}{kind[:2]}{free_port()}"
    wechat.appid = appid
    url = REDIS_URL if kind == "redis" else database_url
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Event(), spawn.Queue()
    processes = [spawn.Process(target=_one_process, args=(kind, url, appid, base_url, start, out))
                 for _ in range(2)]  # fmt: skip
    for process in processes:
        process.start()
    start.set()
    tokens = [out.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert tokens[0] == tokens[1] == wechat.token
    assert wechat.token_calls == 1


def test_a_rejected_token_is_refreshed_once_then_the_error_stands(
    fake: tuple[FakeWeChat, str],
) -> None:
    wechat, base_url = fake

    async def run() -> None:
        api = WeChatAPI(base_url=base_url, appid=APPID, secret=SECRET, store=MemoryTokenStore())
        body = {"touser": "o1", "msgtype": "text", "text": {"content": "您好"}}
        try:
            await api.send_custom(body)
            assert wechat.token_calls == 1
            wechat.expire_token()  # 40001 for the cached token
            await api.send_custom(body)
            assert wechat.token_calls == 2 and len(wechat.sent) == 2
            wechat.reject_all = True  # refused again after the refresh: no loop of refreshes
            with pytest.raises(WeChatError) as refused:
                await api.send_custom(body)
            assert refused.value.errcode == 40001 and wechat.token_calls == 3
        finally:
            await api.close()

    asyncio.run(run())


def test_concurrent_calls_in_one_process_share_one_refresh(fake: tuple[FakeWeChat, str]) -> None:
    wechat, base_url = fake
    wechat.token_delay = 0.3

    async def run() -> list[str]:
        api = WeChatAPI(base_url=base_url, appid=APPID, secret=SECRET, store=MemoryTokenStore())
        try:
            return await asyncio.gather(*(api.tokens.get() for _ in range(10)))
        finally:
            await api.close()

    assert len(set(asyncio.run(run()))) == 1 and wechat.token_calls == 1
