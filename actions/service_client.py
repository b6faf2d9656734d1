"""Client for the DropDesk service's internal API, behind a small swappable interface."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

TIMEOUT_SECONDS = 5.0
KEEPALIVE_SECONDS = 3.0


class ServiceError(Exception):
    """The service could not be reached or answered with an error."""


class NotFoundError(ServiceError):
    """The service answered HTTP 404: no such session, or nothing of that name in it."""


class DropDeskService(Protocol):
    """What the actions need from the DropDesk service."""

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]: ...

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]: ...

    async def tickets(
        self, session_id: str, ticket_no: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def terminals(self, session_id: str) -> list[dict[str, Any]]: ...

    async def reading(self, session_id: str, attachment_id: int) -> dict[str, Any] | None: ...


class HttpDropDeskService:
    """Speak the internal HTTP contract; every failure becomes ServiceError."""

    def __init__(self, base_url: str, token: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # One session per event loop, its connections kept alive between calls (a session per
        # call opened and closed a TCP connection to the service every time).
        self._http: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._http is None or self._http[0] is not loop or self._http[1].closed:
            # Idle connections are dropped before the service's own keep-alive timeout
            # (uvicorn's is 5 s), so a request never goes out on one the service is closing.
            connector = aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS)
            self._http = (loop, aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                      headers=self._headers))  # fmt: skip
        return self._http[1]

    async def close(self) -> None:
        if self._http is not None:
            await self._http[1].close()
            self._http = None

    def _url(self, session_id: str, tail: str) -> str:
        return f"{self._base_url}/internal/v1/sessions/{quote(session_id, safe='')}/{tail}"

    async def _request(
        self,
        method: str,
        url: str,
        payload: dict[str, Any] | None,
        params: dict[str, str] | None = None,
    ) -> Any:
        try:
            async with self._session().request(
                method, url, json=payload, params=params
            ) as response:
                if response.status == 404:
                    raise NotFoundError(f"{method} {url} -> HTTP 404")
                if response.status >= 400:
                    raise ServiceError(f"{method} {url} -> HTTP {response.status}")
                return await response.json()
        except ServiceError:
            raise
        except Exception as exc:  # connection errors, timeouts, bad JSON
            raise ServiceError(f"{method} {url} failed: {exc!r}") from exc

    async def diagnose(self, session_id: str, query: dict[str, Any]) -> dict[str, Any]:
        data = await self._request("POST", self._url(session_id, "diagnoses"), query)
        if not isinstance(data, dict) or "code" not in data:
            raise ServiceError("diagnosis answer has no code")
        return data

    async def escalate(self, session_id: str, reason: str) -> dict[str, Any]:
        data = await self._request("POST", self._url(session_id, "escalations"), {"reason": reason})
        if not isinstance(data, dict) or not data.get("ticket_no"):
            raise ServiceError("escalation answer has no ticket_no")
        return data

    async def tickets(self, session_id: str, ticket_no: str | None = None) -> list[dict[str, Any]]:
        # The query parameter only when asked about one ticket: without it, the latest ones.
        params = {"ticket_no": ticket_no} if ticket_no else None
        data = await self._request("GET", self._url(session_id, "tickets"), None, params)
        if not isinstance(data, list):
            raise ServiceError("tickets answer is not a list")
        return data

    async def terminals(self, session_id: str) -> list[dict[str, Any]]:
        data = await self._request("GET", self._url(session_id, "terminals"), None)
        if not isinstance(data, list):
            raise ServiceError("terminals answer is not a list")
        return data

    async def reading(self, session_id: str, attachment_id: int) -> dict[str, Any] | None:
        """What the service read on a photo of the session; None when it has not read it."""
        try:
            data = await self._request(
                "GET", self._url(session_id, f"attachments/{int(attachment_id)}/reading"), None
            )
        except NotFoundError:
            return None
        if not isinstance(data, dict) or "status" not in data:
            raise ServiceError("reading answer has no status")
        return data


_service: DropDeskService | None = None


def get_service() -> DropDeskService:
    """Return the configured service, built from the environment on first use."""
    global _service
    if _service is None:
        _service = HttpDropDeskService(
            os.environ.get("DROPDESK_SERVICE_URL", "http://127.0.0.1:8000"),
            os.environ.get("DROPDESK_INTERNAL_TOKEN", "dev-only-internal-token"),
        )
    return _service


def use_service(service: DropDeskService | None) -> None:
    """Swap the service (tests pass a fake; None rebuilds from the environment)."""
    global _service
    _service = service
