"""A WeChat rig on loopback: the service (uvicorn), a fake WeChat API and a fake Rasa."""

from __future__ import annotations

import base64
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.conversation.models import Message
from dropdesk.database.core import session_scope
from dropdesk.devrun import free_port, serve_in_thread
from dropdesk.main import create_app
from dropdesk.wechat import service as wechat_service
from dropdesk.wechat.models import Follower, Outbound
from dropdesk.wechat.simulator import FakeWeChat, FollowerClient
from tests.api.factories import MERCHANT_B, row, store
from tests.api.fake_rasa import FakeRasa

TOKEN = "wechat-test-token"
SECRET = "wechat-test-secret"


def aes_key() -> str:
    """A fresh 43-character EncodingAESKey."""
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def add_parse(rasa: FakeRasa) -> None:
    """Rasa's NLU endpoint for the fake: 网络 is a general question, 你好 a greeting."""

    @rasa.app.post("/model/parse")
    async def parse(body: dict[str, Any], token: str = "") -> dict[str, Any]:
        text = str(body.get("text", ""))
        name = "ask_network" if "网络" in text else "greet" if "你好" in text else "report_drop"
        return {"text": text, "intent": {"name": name, "confidence": 0.99}, "entities": []}


@dataclass
class Rig:
    settings: Settings
    base_url: str
    wechat: FakeWeChat
    rasa: FakeRasa
    keys: list[str]

    def follower(self, openid: str | None = None, mode: str = "plain",
                 key: str | None = None) -> FollowerClient:  # fmt: skip
        return FollowerClient(
            base_url=self.base_url, token=TOKEN, appid=self.settings.wechat_appid,
            openid=openid or "o" + secrets.token_hex(12), mode=mode,
            aes_key=key or (self.keys[0] if self.keys else None),
        )  # fmt: skip

    def bind_code(self, merchant_no: str) -> str:
        with session_scope(self.settings.database_url) as db:
            return wechat_service.issue_bind_code(
                db_session=db, merchant_no=merchant_no, secret_key=self.settings.secret_key,
                minutes=10,
            ).code  # fmt: skip

    def bound(self, merchant_no: str, mode: str = "plain") -> FollowerClient:
        fan = self.follower(mode=mode)
        reply = fan.text(f"绑定 {self.bind_code(merchant_no)}")
        assert reply.text and "绑定成功" in reply.text, reply
        return fan

    def session_of(self, openid: str) -> str | None:
        with session_scope(self.settings.database_url) as db:
            fan = db.get(Follower, openid)
            return fan.session_id if fan else None

    def transcript(self, session_id: str) -> list[tuple[str, str]]:
        with session_scope(self.settings.database_url) as db:
            rows = db.scalars(
                select(Message).where(Message.session_id == session_id).order_by(Message.id)
            )
            return [(m.sender, m.text) for m in rows]

    def outbound(self, openid: str) -> list[tuple[str, int | None]]:
        with session_scope(self.settings.database_url) as db:
            rows = db.scalars(select(Outbound).where(Outbound.openid == openid)
                              .order_by(Outbound.id))  # fmt: skip
            return [(o.status, o.errcode) for o in rows]


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@contextmanager
def wechat_rig(settings: Settings, tmp_path: Path, *, keys: list[str] | None = None,
               **overrides: Any) -> Iterator[Rig]:  # fmt: skip
    """Everything on free loopback ports; WeChat's side speaks the real contract."""
    rasa = FakeRasa(token=settings.rasa_token)
    add_parse(rasa)
    appid = "wx" + secrets.token_hex(8)
    fake = FakeWeChat(appid=appid, secret=SECRET)
    keys = [aes_key()] if keys is None else keys
    rasa_port, wechat_port, port = free_port(), free_port(), free_port()
    with serve_in_thread(rasa.app, rasa_port), serve_in_thread(fake.app, wechat_port) as api:
        rigged = settings.model_copy(update={
            "rasa_url": f"http://127.0.0.1:{rasa_port}", "rasa_timeout_seconds": 10.0,
            "wechat_token": TOKEN, "wechat_appid": appid, "wechat_secret": SECRET,
            "wechat_aes_key": keys, "wechat_api_base": api,
            "upload_dir": tmp_path / "uploads", "working_hours": "00:00-24:00", **overrides,
        })  # fmt: skip
        with serve_in_thread(create_app(rigged), port) as base_url:
            yield Rig(rigged, base_url, fake, rasa, keys)


@contextmanager
def rig_with_merchants(settings: Settings, tmp_path: Path, db_session: Session,
                       **overrides: Any) -> Iterator[Rig]:  # fmt: skip
    """The rig over a store with merchants A and B."""
    store(db_session, row(), row(merchant_no=MERCHANT_B, terminal_no="T0000002"))
    with wechat_rig(settings, tmp_path, **overrides) as rigged:
        yield rigged
