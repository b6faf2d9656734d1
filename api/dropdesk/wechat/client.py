"""WeChat's server API: stable_token, custom/send, media/get, menu/create."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx

from dropdesk.wechat.token import AccessTokens, TokenStore

log = logging.getLogger(__name__)

TOKEN_REJECTED = {40001, 40014, 42001}  # invalid, malformed, expired access_token
# Not retried blindly: recorded on the message, and the follower marked unreachable.
UNREACHABLE = {
    45015: "window_closed",  # no message from the follower for 48 hours, or unsubscribed
    45047: "quota",  # too many customer-service messages without an answer
    43004: "unsubscribed",
}
SYSTEM_BUSY = -1


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatAPI:
    """One HTTP client for the account; every call carries the shared access_token."""

    def __init__(self, *, base_url: str, appid: str, secret: str, store: TokenStore,
                 timeout: float = 10.0) -> None:  # fmt: skip
        self.appid = appid
        self._secret = secret
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout, connect=3.0)
        )
        self.tokens = AccessTokens(store, self.stable_token)

    async def close(self) -> None:
        await self._http.aclose()

    async def stable_token(self, force_refresh: bool) -> tuple[str, int]:
        body = {"grant_type": "client_credential", "appid": self.appid,
                "secret": self._secret, "force_refresh": force_refresh}  # fmt: skip
        response = await self._http.post("/cgi-bin/stable_token", json=body)
        answer = _json(response)
        if "access_token" not in answer:
            raise WeChatError(int(answer.get("errcode", -2)), str(answer.get("errmsg", "")))
        log.info("wechat access_token refreshed (force=%s)", force_refresh)
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    async def _call(self, method: str, path: str, *, params: dict[str, str] | None = None,
                    **kwargs: Any) -> httpx.Response:  # fmt: skip
        """Call with the token; a rejected token gets one forced refresh and one more try."""
        token = await self.tokens.get()
        for attempt in (1, 2):
            response = await self._http.request(
                method, path, params={**(params or {}), "access_token": token}, **kwargs
            )
            code = _errcode(response)
            if code in TOKEN_REJECTED and attempt == 1:
                log.warning("wechat rejected the access_token (%s): refreshing once", code)
                token = await self.tokens.replace(token)
                continue
            if code:
                answer = _json(response)
                raise WeChatError(code, str(answer.get("errmsg", "")))
            return response
        raise AssertionError("unreachable")

    async def send_custom(self, body: dict[str, Any]) -> None:
        """POST message/custom/send; connection failures and 'system busy' are tried again."""
        for delay in (0.5, 1.0, 2.0, None):
            try:
                await self._call("POST", "/cgi-bin/message/custom/send",
                                 content=_utf8_json(body),
                                 headers={"Content-Type": "application/json"})  # fmt: skip
                return
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if delay is None:
                    raise WeChatError(-2, f"cannot reach WeChat: {exc!r}") from exc
            except WeChatError as exc:
                if exc.errcode != SYSTEM_BUSY or delay is None:
                    raise
            await asyncio.sleep(delay)

    async def media(self, media_id: str, max_bytes: int) -> bytes:
        """Download a follower's image (media/get); JSON means an error."""
        response = await self._call("GET", "/cgi-bin/media/get", params={"media_id": media_id})
        if len(response.content) > max_bytes:
            raise WeChatError(-3, "media larger than the upload limit")
        return response.content

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self._call("POST", "/cgi-bin/menu/create", content=_utf8_json(menu),
                         headers={"Content-Type": "application/json"})  # fmt: skip


def _utf8_json(body: dict[str, Any]) -> bytes:
    # WeChat shows \\uXXXX escapes literally in some clients: send UTF-8 text.
    return json.dumps(body, ensure_ascii=False).encode()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError as exc:
        raise WeChatError(-2, f"HTTP {response.status_code}, not JSON") from exc
    if not isinstance(answer, dict):
        raise WeChatError(-2, "answer is not an object")
    return answer


def _errcode(response: httpx.Response) -> int:
    """The errcode of a JSON answer (0 when there is none, as with media bytes)."""
    # media/get answers bytes; errors come as JSON (sometimes labelled text/plain).
    json_type = "json" in response.headers.get("content-type", "")
    if not json_type and response.status_code < 400 and not response.content.startswith(b"{"):
        return 0
    try:
        answer = response.json()
    except ValueError:
        if response.status_code >= 400:
            return -2
        return 0
    return int(answer.get("errcode", 0)) if isinstance(answer, dict) else 0
