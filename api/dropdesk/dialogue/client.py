"""The dialogue engine behind a small interface: Rasa's REST channel and HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


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


class BotClient(Protocol):
    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any]
                   ) -> list[BotReply]: ...  # fmt: skip
    async def slots(self, *, session_id: str) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class RasaClient:
    """Talk to `rasa run --enable-api` over its REST webhook and tracker endpoint."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any]
                   ) -> list[BotReply]:  # fmt: skip
        body = {"sender": session_id, "message": text, "metadata": metadata}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            items = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailableError(str(exc) or exc.__class__.__name__) from exc
        if not isinstance(items, list):
            raise BotUnavailableError("unexpected answer from Rasa")
        return [_reply(item) for item in items if isinstance(item, dict)]

    async def slots(self, *, session_id: str) -> dict[str, Any]:
        try:
            response = await self._http.get(
                f"/conversations/{session_id}/tracker", params={"include_events": "NONE"}
            )
            response.raise_for_status()
            slots = response.json().get("slots", {})
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise BotUnavailableError(str(exc)) from exc
        return slots if isinstance(slots, dict) else {}

    async def close(self) -> None:
        await self._http.aclose()


def _reply(item: dict[str, Any]) -> BotReply:
    buttons = [
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    ]
    return BotReply(text=str(item.get("text") or ""), buttons=buttons)
