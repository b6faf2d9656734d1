"""Try the channel without an account: a fake of WeChat's server API and a terminal follower.

FakeWeChat speaks WeChat's contract over real HTTP (stable_token, message/custom/send,
media/get, menu/create, with their error codes); FollowerClient signs, and in safe mode
encrypts, each message as WeChat does and opens the passive reply. Tests, the benchmark and
`dropdesk wechat simulate` all use them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dropdesk.wechat.crypto import MessageCrypto, RefusedError, check_signature, signature
from dropdesk.wechat.xml import cdata, parse


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


@dataclass
class FakeWeChat:
    """WeChat's server API for one account, in memory."""

    appid: str
    secret: str
    on_message: Callable[[dict[str, Any]], None] | None = None
    token_calls: int = 0
    token: str = ""
    token_expires: float = 0.0
    token_delay: float = 0.0
    sent: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    menu: dict[str, Any] | None = None
    # openid -> errcode every custom/send to it gets (45015 window closed, 45047 quota).
    refuse: dict[str, int] = field(default_factory=dict)
    rejected_once: set[str] = field(default_factory=set)  # tokens answered 40001 once
    reject_all: bool = False  # every token is refused (a wrong secret rotated under us, say)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/cgi-bin/stable_token")(self._stable_token)
        self.app.post("/cgi-bin/message/custom/send")(self._custom_send)
        self.app.get("/cgi-bin/media/get")(self._media_get)
        self.app.post("/cgi-bin/menu/create")(self._menu_create)

    def expire_token(self) -> None:
        """WeChat dropped the token early (40001 on the next call until a forced refresh)."""
        with self.lock:
            self.rejected_once.add(self.token)

    def _check(self, token: str) -> JSONResponse | None:
        with self.lock:
            if self.reject_all or (token and token in self.rejected_once):
                return _error(40001, "invalid credential, access_token is invalid or not latest")
            if not token or token != self.token:
                return _error(40001, "invalid credential")
            if time.time() > self.token_expires:
                return _error(42001, "access_token expired")
        return None

    async def _stable_token(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if body.get("appid") != self.appid or body.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        with self.lock:
            self.token_calls += 1
            if body.get("force_refresh") or not self.token or time.time() > self.token_expires:
                self.rejected_once.discard(self.token)
                self.token = "ACCESS_" + secrets.token_hex(16)
                self.token_expires = time.time() + 7200
            left = int(self.token_expires - time.time())
            return JSONResponse({"access_token": self.token, "expires_in": left})

    async def _custom_send(self, request: Request, access_token: str = "") -> JSONResponse:
        refused = self._check(access_token)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(47001, "data format error")
        kind = body.get("msgtype")
        if not body.get("touser") or kind not in {"text", "msgmenu", "image"}:
            return _error(40008, "invalid message type")
        if kind == "text" and not (body.get("text") or {}).get("content"):
            return _error(44003, "empty news data")
        code = self.refuse.get(body["touser"])
        if code == 45015:
            return _error(45015, "response out of time limit or subscription is canceled")
        if code == 45047:
            return _error(45047, "out of response count limit")
        with self.lock:
            self.sent.append(body)
        if self.on_message:
            self.on_message(body)
        return _error(0, "ok")

    async def _media_get(self, access_token: str = "", media_id: str = "") -> Response:
        refused = self._check(access_token)
        if refused is not None:
            return refused
        data = self.media.get(media_id)
        if data is None:
            return _error(40007, "invalid media_id")
        return Response(content=data, media_type="image/jpeg")

    async def _menu_create(self, request: Request, access_token: str = "") -> JSONResponse:
        refused = self._check(access_token)
        if refused is not None:
            return refused
        body = json.loads(await request.body())
        buttons = body.get("button") or []
        if not 1 <= len(buttons) <= 3:
            return _error(40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") or []
            if len(subs) > 5 or len(button.get("name", "").encode()) > 16:
                return _error(40017, "invalid sub button size")
            for item in [button, *subs]:
                if item.get("type") == "click" and not item.get("key"):
                    return _error(40019, "invalid button key size")
        self.menu = body
        return _error(0, "ok")

    def texts_to(self, openid: str) -> list[str]:
        """What the follower received by customer-service API, as text."""
        return [shown(body) for body in self.sent if body["touser"] == openid]


def shown(body: dict[str, Any]) -> str:
    """A customer-service message as the follower sees it (a msgmenu's items in brackets)."""
    if body["msgtype"] == "msgmenu":
        menu = body["msgmenu"]
        titles = " ".join(f"[{i['content']}]" for i in menu["list"])
        return f"{menu['head_content']} {titles}".strip()
    return str((body.get("text") or {}).get("content", body["msgtype"]))


class DelayingProxy:
    """A slow bot for tests and the benchmark: forwards to Rasa, holding the dialogue
    webhook for `delay` seconds first, so the service's own (production) path is measured."""

    def __init__(self) -> None:
        self.target = ""
        self.delay = 0.0
        self.app = FastAPI()
        self.app.api_route("/{path:path}", methods=["GET", "POST"])(self.forward)

    async def forward(self, path: str, request: Request) -> Response:
        if path.startswith("webhooks/") and self.delay:
            await asyncio.sleep(self.delay)
        async with httpx.AsyncClient(timeout=60) as http:
            answer = await http.request(request.method, f"{self.target}/{path}",
                                        params=request.query_params, content=await request.body(),
                                        headers={"Content-Type": "application/json"})  # fmt: skip
        return Response(answer.content, answer.status_code,
                        media_type=answer.headers.get("content-type"))  # fmt: skip


@dataclass
class Reply:
    status: int
    body: bytes
    text: str | None  # the passive reply's Content, if any


class FollowerClient:
    """A follower's phone as seen by our server: WeChat signs and forwards each message."""

    def __init__(self, *, base_url: str, token: str, appid: str, openid: str,
                 aes_key: str | None = None, mode: str = "plain",
                 account: str = "gh_dropdesk000", timeout: float = 30.0) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.token, self.openid, self.account, self.mode = token, openid, account, mode
        self.crypto = MessageCrypto(token, appid, [aes_key]) if aes_key else None
        self.http = httpx.Client(timeout=timeout)
        self._msg_id = int(time.time() * 1000) * 100 + secrets.randbelow(100)

    def close(self) -> None:
        self.http.close()

    def next_msg_id(self) -> str:
        self._msg_id += 1
        return str(self._msg_id)

    def message_xml(self, msg_type: str, created: int | None = None,
                    **fields: str) -> str:  # fmt: skip
        created = created or int(time.time())
        inner = "".join(f"<{k}>{cdata(v)}</{k}>" for k, v in fields.items())
        return (
            f"<xml><ToUserName>{cdata(self.account)}</ToUserName>"
            f"<FromUserName>{cdata(self.openid)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
            f"{inner}</xml>"
        )

    def text(self, content: str, msg_id: str | None = None) -> Reply:
        xml = self.message_xml("text", Content=content, MsgId=msg_id or self.next_msg_id())
        return self.post(xml)

    def event(self, event: str, key: str = "") -> Reply:
        fields = {"Event": event, **({"EventKey": key} if key else {})}
        return self.post(self.message_xml("event", None, **fields))

    def signed_query(self, timestamp: str | None = None, nonce: str | None = None,
                     encrypted: str | None = None) -> dict[str, str]:  # fmt: skip
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": self.openid}  # fmt: skip
        if encrypted is not None:
            sign = signature(self.token, timestamp, nonce, encrypted)
            query |= {"encrypt_type": "aes", "msg_signature": sign}
        return query

    def envelope(self, xml: str) -> tuple[bytes, dict[str, str]]:
        """The body and query WeChat would send for this message in the client's mode."""
        if self.mode == "plain" or self.crypto is None:
            return xml.encode(), self.signed_query()
        encrypted = self.crypto.encrypt(xml.encode())
        if self.mode == "safe":
            body = (f"<xml><ToUserName>{cdata(self.account)}</ToUserName>"
                    f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")  # fmt: skip
        else:  # compatible: the plaintext fields and the ciphertext side by side
            body = xml.replace("</xml>", f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>")
        return body.encode(), self.signed_query(encrypted=encrypted)

    def post(self, xml: str) -> Reply:
        body, query = self.envelope(xml)
        return self.post_raw(body, query)

    def post_raw(self, body: bytes, query: dict[str, str]) -> Reply:
        response = self.http.post(f"{self.base_url}/wechat", params=query, content=body,
                                  headers={"Content-Type": "text/xml"})  # fmt: skip
        return Reply(response.status_code, response.content, self.open_reply(response.content))

    def open_reply(self, body: bytes) -> str | None:
        """The Content of a passive reply, checking its signature when encrypted."""
        if not body.strip().startswith(b"<"):
            return None
        fields = parse(body)
        if "Encrypt" in fields:
            if self.crypto is None:
                raise RefusedError("encrypted reply but no key")
            check_signature(fields.get("MsgSignature", ""), self.token,
                            fields.get("TimeStamp", ""), fields.get("Nonce", ""),
                            fields["Encrypt"])  # fmt: skip
            fields = parse(self.crypto.decrypt(fields["Encrypt"]).message)
        if fields.get("ToUserName") != self.openid:
            raise RefusedError("reply addressed to someone else")
        return fields.get("Content")


HELP = """输入文字发给公众号；命令：
  /subscribe  /unsubscribe      关注、取消关注
  /click KEY                    点菜单（REPORT_DROP、TICKET_STATUS、HUMAN、BIND）
  /voice 文字                   一段语音（带语音识别结果）
  /image 文件                   发一张照片（先交给本地的假微信 media 接口）
  /quit                         退出"""


def run_terminal(*, service_url: str, token: str, appid: str, secret: str, aes_key: str | None,
                 encrypted: bool, api_port: int, openid: str,
                 lines: Callable[[], str] = input,
                 echo: Callable[[str], None] = print) -> None:  # fmt: skip
    """A terminal follower: each line signed (and encrypted), passive replies printed, and
    customer-service messages printed as WeChat's fake API receives them."""
    from pathlib import Path

    from dropdesk.devrun import serve_in_thread

    def arrived(body: dict[str, Any]) -> None:
        echo(f"公众号（客服消息）> {shown(body)}")

    fake = FakeWeChat(appid=appid, secret=secret, on_message=arrived)
    mode = "safe" if encrypted else "plain"
    client = FollowerClient(base_url=service_url, token=token, appid=appid, openid=openid,
                            aes_key=aes_key if encrypted else None, mode=mode)  # fmt: skip
    with serve_in_thread(fake.app, api_port) as api:
        echo(f"WeChat API fake at {api} (the service needs DROPDESK_WECHAT_API_BASE={api})")
        echo(f"follower {openid}, {'safe mode (AES)' if encrypted else 'plain mode'}\n{HELP}")
        while True:
            try:
                line = lines().strip()
            except EOFError:
                break
            if not line:
                continue
            if line == "/quit":
                break
            command, _, rest = line.partition(" ")
            try:
                if command in {"/subscribe", "/unsubscribe"}:
                    reply = client.event(command[1:])
                elif command == "/click":
                    reply = client.event("CLICK", rest.strip().upper())
                elif command == "/voice":
                    reply = client.post(client.message_xml(
                        "voice", MediaId="sim-voice", Format="amr", Recognition=rest,
                        MsgId=client.next_msg_id()))  # fmt: skip
                elif command == "/image":
                    media_id = f"sim-{secrets.token_hex(6)}"
                    fake.media[media_id] = Path(rest.strip()).expanduser().read_bytes()
                    reply = client.post(client.message_xml(
                        "image", MediaId=media_id, PicUrl="http://sim/p.jpg",
                        MsgId=client.next_msg_id()))  # fmt: skip
                else:
                    reply = client.text(line)
            except (httpx.HTTPError, OSError, RefusedError) as exc:
                echo(f"（发送失败：{exc}）")
                continue
            if reply.text is not None:
                echo(f"公众号 > {reply.text}")
            elif reply.status != 200 or reply.body not in {b"success", b""}:
                echo(f"（HTTP {reply.status}）")
            elif reply.body == b"":
                echo("（服务拒收了这条消息，见服务日志）")
        time.sleep(0.2)
    client.close()
