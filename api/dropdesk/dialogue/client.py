"""The dialogue engine behind a small interface: Rasa's REST channel and HTTP API."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)
# Connections to Rasa per service process: above the turns one process has in flight at once.
CONNECTIONS = 400


class BotUnavailableError(Exception):
    """Rasa (or the action server behind it) is down, slow or answered badly.

    kind, for the metrics: timeout, unreachable, http_<status> or bad_answer.
    """

    def __init__(self, reason: str, kind: str = "bad_answer") -> None:
        super().__init__(reason)
        self.kind = kind


# Rasa answers these when a turn failed and nothing of it was kept (bot/channels.py): the turn
# can run again. 502/504 come from a proxy or balancer in front of a Rasa that went away.
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


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
    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any],
                   message_id: str | None = None, resend: bool = False
                   ) -> BotTurn: ...  # fmt: skip
    async def reset(self, *, session_id: str) -> None: ...
    async def close(self) -> None: ...


class RasaClient:
    """Talk to Rasa through DropDesk's channel (bot/channels.py): replies and slots at once.

    A turn that failed in a way that can be retried is sent again, with backoff, for up to
    retry_seconds: a Rasa server or the action server killed mid-turn, restarted by the
    supervisor, or another replica behind the balancer, then answers without the merchant
    sending anything again. Retrying is safe because a failed turn leaves nothing in the
    tracker, and because a message sent with its message_id is taken once: on a retry the
    channel first looks for that id in the tracker and, if the turn did finish (Rasa died
    after saving it, before answering), answers with what that turn said.
    Without a message_id only a connection that was never made is retried.
    A read timeout is never retried: the turn may still be running.
    """

    WEBHOOK = "/webhooks/dropdesk/webhook"

    def __init__(
        self, base_url: str, timeout: float, token: str = "", retry_seconds: float = 0.0
    ) -> None:
        self._token = token
        self._retry_seconds = retry_seconds
        # Rasa's channel checks it where its credentials carry the token (production).
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._base_url = base_url.rstrip("/")
        # Connecting may take 2 s; the answer may take `timeout` (a turn runs while we wait).
        self._timeout = aiohttp.ClientTimeout(total=None, connect=2.0, sock_read=timeout)
        self._http: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session(self) -> aiohttp.ClientSession:
        """aiohttp, not httpx, on this path: a tenth of the CPU per request (bench/), spent
        once per turn. Made on first use, inside the event loop (and again in another loop,
        as each test client runs its own).

        Every waiting turn keeps its connection: a pool smaller than the turns in flight
        queues them and closes a connection after nearly every turn (load bench, py-spy).
        """
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.closed or self._loop is not loop:
            self._loop = loop
            self._http = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
            )
        return self._http

    async def send(self, *, session_id: str, text: str, metadata: dict[str, Any],
                   message_id: str | None = None, resend: bool = False
                   ) -> BotTurn:  # fmt: skip
        """resend: the message may already have reached Rasa (a turn taken over from a
        process that died): the first attempt, too, looks for it before running it."""
        body: dict[str, Any] = {"sender": session_id, "message": text, "metadata": metadata}
        if message_id is not None:
            body["message_id"] = message_id
            if resend:
                body["retry"] = True
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._retry_seconds
        delay = 0.25
        while True:
            try:
                return await self._send_once(body)
            except _Failed as failed:
                retry = failed.retryable and (message_id is not None or failed.never_sent)
                if not retry or loop.time() + delay > give_up:
                    raise BotUnavailableError(failed.reason, failed.kind) from failed.__cause__
                log.warning("turn for %s failed (%s): trying again in %.2fs",
                            session_id, failed.reason, delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)
            body["retry"] = True

    async def _send_once(self, body: dict[str, Any]) -> BotTurn:
        try:
            post = self._session().post(
                self._base_url + self.WEBHOOK, json=body, headers=self._auth
            )
            async with post as response:
                status, raw = response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:  # connecting timed out: never sent
            raise _Failed(repr(exc), "timeout", retryable=True, never_sent=True) from exc
        except TimeoutError as exc:  # reading timed out: the turn may still run
            raise _Failed(repr(exc), "timeout", retryable=False) from exc
        except aiohttp.ClientConnectorError as exc:
            raise _Failed(repr(exc), "unreachable", retryable=True, never_sent=True) from exc
        except aiohttp.ClientError as exc:  # dropped after sending: the channel dedupes retries
            raise _Failed(repr(exc), "unreachable", retryable=True) from exc
        if status >= 400:
            raise _Failed(f"Rasa answered {status}", f"http_{status}",
                          retryable=status in RETRYABLE_STATUS)  # fmt: skip
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise _Failed("Rasa's answer is not JSON", "bad_answer", retryable=False) from exc
        items = answer.get("messages") if isinstance(answer, dict) else None
        slots = answer.get("slots") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not isinstance(slots, dict):
            raise _Failed("unexpected answer from Rasa", "bad_answer", retryable=False)
        replies = [_reply(item) for item in items if isinstance(item, dict)]
        return BotTurn(replies=replies, slots=slots)

    async def reset(self, *, session_id: str) -> None:
        """Restart the conversation's tracker through Rasa's HTTP API (needs --auth-token).

        No half-filled form or stale slot survives: the next message starts a fresh session.
        """
        path = f"{self._base_url}/conversations/{quote(session_id, safe='')}/tracker/events"
        post = self._session().post(path, params={"token": self._token},
                                    json=[{"event": "restart"}])  # fmt: skip
        try:
            async with post as response:
                response.raise_for_status()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BotUnavailableError(f"tracker reset failed: {exc!r}") from exc

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


class _Failed(Exception):
    """One attempt at a turn failed; whether trying again is safe and useful."""

    def __init__(self, reason: str, kind: str, *, retryable: bool, never_sent: bool = False
                 ) -> None:  # fmt: skip
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.retryable = retryable
        self.never_sent = never_sent


def _reply(item: dict[str, Any]) -> BotReply:
    buttons = [
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    ]
    return BotReply(text=str(item.get("text") or ""), buttons=buttons)
