"""The dialogue engine behind a small interface: Rasa's REST channel and HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx

# Connections to Rasa per service process: above the turns one process has in flight at once.
CONNECTIONS = 400


class BotUnavailableError(Exception):
    """Rasa (or the action server behind it) is down, slow or answered badly."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[Button] = field(default_factory=list)


@dataclass(frozen=True)
class BotTurn:
    """What the bot said to one message, and its slots (the evidence) afterwards."""

    replies: list[BotReply]
    slots: dict[str, Any]


class BotClient(Protocol):
    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any]
                   ) -> BotTurn: ...  # fmt: skip
    async def reset(self, *, session_id: str) -> None: ...
    async def close(self) -> None: ...


class RasaClient:
    """Talk to Rasa through DropDesk's channel (bot/channels.py): replies and slots at once."""

    WEBHOOK = "/webhooks/dropdesk/webhook"

    def __init__(self, base_url: str, timeout: float, token: str = "") -> None:
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=2.0),
            # Every waiting turn keeps its connection: a pool smaller than the turns in flight
            # queued them in httpcore (whose queue costs O(queued x connections) per request)
            # and closed a connection after nearly every turn (load bench, py-spy).
            limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS),
        )

    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any]
                   ) -> BotTurn:  # fmt: skip
        body = {"sender": session_id, "message": text, "metadata": metadata}
        try:
            response = await self._http.post(self.WEBHOOK, json=body)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailableError(str(exc) or exc.__class__.__name__) from exc
        items = answer.get("messages") if isinstance(answer, dict) else None
        slots = answer.get("slots") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not isinstance(slots, dict):
            raise BotUnavailableError("unexpected answer from Rasa")
        replies = [_reply(item) for item in items if isinstance(item, dict)]
        return BotTurn(replies=replies, slots=slots)

    async def reset(self, *, session_id: str) -> None:
        """Restart the conversation's tracker through Rasa's HTTP API (needs --auth-token).

        No half-filled form or stale slot survives: the next message starts a fresh session.
        """
        path = f"/conversations/{quote(session_id, safe='')}/tracker/events"
        try:
            response = await self._http.post(
                path, params={"token": self._token}, json=[{"event": "restart"}]
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BotUnavailableError(f"tracker reset failed: {exc!r}") from exc

    async def close(self) -> None:
        await self._http.aclose()


def _reply(item: dict[str, Any]) -> BotReply:
    buttons = [
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    ]
    return BotReply(text=str(item.get("text") or ""), buttons=buttons)
