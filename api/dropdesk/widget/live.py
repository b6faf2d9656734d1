"""The widget's live channel: a WebSocket that relays one session's pub/sub messages.

Browsers cannot set headers on a WebSocket, so the merchant token arrives as the first
message, {"type": "auth", "token": ...}, rather than in the URL: URLs end up in access logs,
proxies and browser history, and the token is valid for days.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session

from dropdesk.auth.service import InvalidTokenError, read_merchant_token
from dropdesk.config import Settings
from dropdesk.conversation import service as conversation_service
from dropdesk.database.core import run_in_session
from dropdesk.errors import NotFoundError
from dropdesk.pubsub.broadcast import Broadcast, session_channel
from dropdesk.widget.security import origin_allowed

router = APIRouter(tags=["widget"])

AUTH_TIMEOUT_SECONDS = 10.0
MAX_CLIENT_FRAME = 4096


class Close:
    """Close codes (4000-4999 are ours) and the reasons the widget shows or logs."""

    BAD_REQUEST = (4400, "expected an auth message first")
    UNAUTHORIZED = (4401, "merchant token invalid or expired")
    FORBIDDEN_ORIGIN = (4403, "origin not allowed")
    NOT_FOUND = (4404, "session not found")
    AUTH_TIMEOUT = (4408, "no auth message in time")
    TOO_BIG = (1009, "message too big")
    CHANNEL_LOST = (1011, "live channel lost")


@router.websocket("/api/v1/sessions/{session_id}/live")
async def live(websocket: WebSocket, session_id: str) -> None:
    """Authenticate, then relay every message published on the session's channel."""
    settings: Settings = websocket.app.state.settings
    broadcast: Broadcast = websocket.app.state.broadcast
    await websocket.accept()
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin_allowed(origin=origin, host=host, allowed=settings.allowed_origins):
        await websocket.close(*Close.FORBIDDEN_ORIGIN)
        return
    refusal = await _authenticate(websocket, session_id, settings)
    if refusal is not None:
        await websocket.close(*refusal)
        return
    async with broadcast.subscribe(session_channel(session_id)) as messages:
        # Subscribed before "ready": whatever the widget's history fetch misses arrives here.
        await websocket.send_json({"type": "ready", "limits": _limits(settings),
                                   "features": _features(settings)})  # fmt: skip
        relay = asyncio.create_task(_relay(websocket, messages))
        reader = asyncio.create_task(_answer_client(websocket))
        try:
            done, _ = await asyncio.wait({relay, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (relay, reader):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if relay in done and reader not in done:
            # The pub/sub backend went away: close so the widget reconnects and catches up.
            with contextlib.suppress(Exception):
                await websocket.close(*Close.CHANNEL_LOST)


async def _authenticate(
    websocket: WebSocket, session_id: str, settings: Settings
) -> tuple[int, str] | None:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
    except TimeoutError:
        return Close.AUTH_TIMEOUT
    except (WebSocketDisconnect, KeyError, RuntimeError):
        return Close.BAD_REQUEST
    frame = _parse(raw)
    token = frame.get("token") if frame.get("type") == "auth" else None
    if not isinstance(token, str):
        return Close.BAD_REQUEST
    try:
        merchant_no = read_merchant_token(token=token, settings=settings)
    except InvalidTokenError:
        return Close.UNAUTHORIZED

    def owns(db_session: Session) -> bool:
        try:
            conversation_service.get_for_merchant(
                db_session=db_session, session_id=session_id, merchant_no=merchant_no
            )
        except NotFoundError:
            return False
        return True

    return None if await run_in_session(settings.database_url, owns) else Close.NOT_FOUND


async def _relay(websocket: WebSocket, messages: Any) -> None:
    async for payload in messages:
        # Typed events ({"type": "message" | "status", ...}) made for the merchant: relay as is.
        await websocket.send_text(payload)


async def _answer_client(websocket: WebSocket) -> None:
    """Read until the client leaves; answer pings so the widget can tell a dead link."""
    while True:
        try:
            raw = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            return
        if len(raw) > MAX_CLIENT_FRAME:
            await websocket.close(*Close.TOO_BIG)
            return
        if _parse(raw).get("type") == "ping":
            await websocket.send_json({"type": "pong"})


def _parse(raw: str) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        frame = json.loads(raw)
        if isinstance(frame, dict):
            return frame
    return {}


def _limits(settings: Settings) -> dict[str, int]:
    return {"message_chars": settings.max_message_chars, "upload_bytes": settings.max_upload_bytes}


def _features(settings: Settings) -> dict[str, bool]:
    """What the widget may offer: 「绑定微信」 only while the WeChat channel is on."""
    return {"wechat_binding": bool(settings.wechat_token)}
