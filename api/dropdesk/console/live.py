"""Live updates for the console: a WebSocket relaying pub/sub, authenticated by the cookie.

The console only needs to hear that something changed: on each event console.js fetches
the part of the page that changed. The first frame is {"type": "ready"}, sent after
subscribing, so a page that re-fetches on "ready" misses nothing across reconnects.

A WebSocket rather than Server-Sent Events: uvicorn closes sockets when it stops (code
1012), but waits for an endless HTTP response, so an open console would hold up a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from dropdesk.agent import service as agent_service
from dropdesk.config import Settings
from dropdesk.console.security import COOKIE, ConsoleLogin, read
from dropdesk.conversation.delivery import QUEUE_CHANNEL, agents_channel
from dropdesk.database.core import session_scope
from dropdesk.pubsub.broadcast import Broadcast, session_channel
from dropdesk.widget.security import origin_allowed

router = APIRouter()

# How often a socket checks that its login still holds (logout ends every login of an agent).
LOGIN_CHECK_SECONDS = 30.0
MAX_CLIENT_FRAME = 1024
SIGNED_OUT = (4401, "signed out")
FORBIDDEN_ORIGIN = (4403, "origin not allowed")
Inbox = asyncio.Queue[str | None]  # payloads of every channel; None when a backend ended


@asynccontextmanager
async def merged(broadcast: Broadcast, channels: list[str]) -> AsyncIterator[Inbox]:
    """Subscribe to every channel; yield one inbox of their payloads (None: a backend ended)."""
    inbox: Inbox = asyncio.Queue()

    async def pump(stream: AsyncIterator[str]) -> None:
        try:
            async for payload in stream:
                inbox.put_nowait(payload)
        finally:
            inbox.put_nowait(None)

    async with AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(broadcast.subscribe(c)) for c in channels]
        pumps = [asyncio.create_task(pump(s)) for s in streams]
        try:
            yield inbox
        finally:
            for task in pumps:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _login_holds(settings: Settings, login: ConsoleLogin) -> bool:
    """Not expired, and the agent is active and has not logged out since the cookie was made."""
    if login.expires_at <= dt.datetime.now(dt.UTC):
        return False
    with session_scope(settings.database_url) as db_session:
        agent = agent_service.get_active(db_session=db_session, agent_id=login.agent_id)
        return agent is not None and agent.session_epoch == login.epoch


async def relay(websocket: WebSocket, channels: list[str]) -> None:
    """Check origin and login, then relay the channels until the agent leaves or logs out."""
    settings: Settings = websocket.app.state.settings
    broadcast: Broadcast = websocket.app.state.broadcast
    await websocket.accept()
    # Only our own pages: the cookie would ride along with another site's socket too.
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    if origin is None or not origin_allowed(origin=origin, host=host, allowed=[]):
        await websocket.close(*FORBIDDEN_ORIGIN)
        return
    login = read(token=websocket.cookies.get(COOKIE), settings=settings)
    if login is None or not await run_in_threadpool(_login_holds, settings, login):
        await websocket.close(*SIGNED_OUT)
        return

    async def still_signed_in() -> bool:
        return await run_in_threadpool(_login_holds, settings, login)

    async with merged(broadcast, channels) as inbox:
        await websocket.send_json({"type": "ready"})
        tasks = {
            asyncio.create_task(_forward(websocket, inbox)),
            asyncio.create_task(_answer_pings(websocket)),
            asyncio.create_task(_watch_login(still_signed_in)),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    ended = next(iter(done)).result() if done else None
    with contextlib.suppress(Exception):  # the browser may be gone already
        await websocket.close(*(SIGNED_OUT if ended == "signed_out" else (1011, "channel lost")))


async def _forward(websocket: WebSocket, inbox: Inbox) -> str:
    while (payload := await inbox.get()) is not None:
        await websocket.send_text(payload)
    return "channel_lost"  # console.js reconnects and re-fetches


async def _answer_pings(websocket: WebSocket) -> str:
    """Read until the page leaves; answer pings so console.js can tell a dead link."""
    while True:
        try:
            raw = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            return "left"
        if len(raw) > MAX_CLIENT_FRAME:
            return "left"
        with contextlib.suppress(ValueError):
            if json.loads(raw) == {"type": "ping"}:
                await websocket.send_json({"type": "pong"})


async def _watch_login(still_signed_in: Callable[[], Awaitable[bool]]) -> str:
    while True:
        await asyncio.sleep(LOGIN_CHECK_SECONDS)
        if not await still_signed_in():
            return "signed_out"


@router.websocket("/live/queue")
async def queue_live(websocket: WebSocket) -> None:
    """Queue events: a session entered, left or moved in the human queue."""
    await relay(websocket, [QUEUE_CHANNEL])


@router.websocket("/sessions/{session_id}/live")
async def session_live(websocket: WebSocket, session_id: str) -> None:
    """One session's messages and status changes, and its private notes (agents only)."""
    await relay(websocket, [session_channel(session_id), agents_channel(session_id)])
