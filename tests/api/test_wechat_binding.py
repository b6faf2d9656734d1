"""Binding an OpenID to a merchant: one-time codes, throttled; guests get general answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from dropdesk.config import Settings
from dropdesk.conversation.models import ChatSession
from dropdesk.database.core import session_scope
from dropdesk.main import create_app
from dropdesk.wechat.models import BindCode, Follower
from dropdesk.wechat.service import MAX_CODES_ISSUED
from tests.api.conftest import auth
from tests.api.factories import MERCHANT_A, MERCHANT_B
from tests.api.wechat_helpers import Rig, rig_with_merchants


@pytest.fixture
def rig(settings: Settings, tmp_path: Path, db_session: Session) -> Iterator[Rig]:
    with rig_with_merchants(settings, tmp_path, db_session) as rigged:
        yield rigged


def test_the_widget_gives_a_merchant_a_code_that_binds_once(rig: Rig) -> None:
    issued = httpx.post(f"{rig.base_url}/api/v1/wechat/bind-codes",
                        headers=auth(rig.settings, MERCHANT_A))  # fmt: skip
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert len(code) == 6 and code.isdigit()
    assert httpx.post(f"{rig.base_url}/api/v1/wechat/bind-codes").status_code == 401
    fan = rig.follower()
    assert "绑定成功" in (fan.text(f"绑定 {code}").text or "")
    other = rig.follower()
    assert "用过" in (other.text(f"绑定{code}").text or "")  # reused: refused
    with session_scope(rig.settings.database_url) as db:
        assert db.get(Follower, other.openid).merchant_id is None  # type: ignore[union-attr]
        # Only a hash of the code is kept.
        assert db.scalar(select(func.count()).select_from(BindCode)
                         .where(BindCode.code_hash == code)) == 0  # fmt: skip


def test_wrong_and_expired_codes_are_refused_and_guessing_is_throttled(rig: Rig) -> None:
    fan = rig.follower()
    expired = rig.bind_code(MERCHANT_A)
    with session_scope(rig.settings.database_url) as db:
        db.execute(update(BindCode).values(expires_at=dt.datetime.now(dt.UTC)
                                           - dt.timedelta(seconds=1)))  # fmt: skip
    assert "过期" in (fan.text(f"绑定 {expired}").text or "")
    good = rig.bind_code(MERCHANT_A)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert "不对" in (fan.text(f"绑定 {wrong}").text or "")
    assert "15分钟" in (fan.text(f"绑定 {wrong}").text or "")  # fifth failure locks
    assert "15分钟" in (fan.text(f"绑定 {good}").text or "")  # even the right code, for now
    with session_scope(rig.settings.database_url) as db:
        assert db.get_one(Follower, fan.openid).merchant_id is None
        db.execute(update(Follower).values(bind_locked_until=None))
    assert "绑定成功" in (fan.text(f"绑定 {good}").text or "")


def test_a_guest_gets_general_answers_but_no_lookup(rig: Rig) -> None:
    fan = rig.follower()
    general = fan.text("网络不好老是掉单怎么办")
    assert (general.text or "").startswith("heard: 网络不好")  # the bot's general answer
    assert all(m["sender"].startswith("wechat-guest:") for m in rig.rasa.received)
    lookup = fan.text("参考号612300000001的钱扣了没有")
    assert "绑定" in (lookup.text or "") and "heard" not in (lookup.text or "")
    assert [m["message"] for m in rig.rasa.received] == ["网络不好老是掉单怎么办"]
    with session_scope(rig.settings.database_url) as db:
        assert db.scalar(select(func.count()).select_from(ChatSession)) == 0
    # The action server asking about the guest's sender finds no session, so no data.
    sender = rig.rasa.received[0]["sender"]
    answer = httpx.post(f"{rig.base_url}/internal/v1/sessions/{sender}/diagnoses", json={},
                        headers={"Authorization": f"Bearer {rig.settings.internal_token}"})
    assert answer.status_code == 404


def test_a_follower_only_ever_reaches_the_merchant_it_is_bound_to(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    fan.text("刷卡失败")
    first = rig.session_of(fan.openid)
    fan.text("还有一笔")
    assert rig.session_of(fan.openid) == first  # one open session per follower
    assert "已解绑" in (fan.text("解绑").text or "")
    assert "绑定" in (fan.text("参考号612300000001").text or "")  # unbound: no lookup
    assert "绑定成功" in (fan.text(f"绑定 {rig.bind_code(MERCHANT_B)}").text or "")
    fan.text("刷卡失败")
    second = rig.session_of(fan.openid)
    assert second is not None and second != first
    with session_scope(rig.settings.database_url) as db:
        chats = {c.id: c.merchant_id for c in db.scalars(select(ChatSession))}
        merchant_ids = {m.merchant_id for m in db.scalars(select(Follower))}
    assert chats[first or ""] != chats[second]
    assert len(merchant_ids) == 1
    assert "还没有绑定" in (rig.follower().text("解绑").text or "")


def test_the_widget_is_told_about_binding_and_issuing_codes_is_throttled(rig: Rig) -> None:
    with TestClient(create_app(rig.settings)) as client:
        sid = client.post("/api/v1/sessions", headers=auth(rig.settings)).json()["session_id"]
        with client.websocket_connect(f"/api/v1/sessions/{sid}/live") as ws:
            ws.send_json({"type": "auth", "token": auth(rig.settings)["Authorization"][7:]})
            assert ws.receive_json()["features"] == {"wechat_binding": True}
    issue = f"{rig.base_url}/api/v1/wechat/bind-codes"
    for _ in range(MAX_CODES_ISSUED):
        issued = httpx.post(issue, headers=auth(rig.settings, MERCHANT_A))
        assert issued.status_code == 201 and issued.json()["valid_minutes"] == 10
    refused = httpx.post(issue, headers=auth(rig.settings, MERCHANT_A))
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "throttled", "message": "获取绑定码太频繁了，请过几分钟再试。"
    }  # fmt: skip
    # Per merchant: another merchant still gets its code.
    assert httpx.post(issue, headers=auth(rig.settings, MERCHANT_B)).status_code == 201
    # Operators (`dropdesk wechat bind-code`) are not throttled.
    assert len(rig.bind_code(MERCHANT_A)) == 6


def test_with_the_channel_off_there_is_no_binding_at_all(client: TestClient,
                                                         settings: Settings) -> None:  # fmt: skip
    refused = client.post("/api/v1/wechat/bind-codes", headers=auth(settings))
    assert refused.status_code == 404
