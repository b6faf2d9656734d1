"""Claimed once, answered once: retries, a slow bot, agents' messages, unreachable followers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.wechat.models import Follower
from dropdesk.wechat.simulator import FollowerClient, Reply
from tests.api.factories import MERCHANT_A
from tests.api.handoff_helpers import internal, make_agent
from tests.api.test_attachment import png
from tests.api.wechat_helpers import Rig, redis_reachable, rig_with_merchants, wait_until


@pytest.fixture(params=["memory://", "redis://127.0.0.1:6379/15"], ids=["db-claims", "redis"])
def rig(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path,
        db_session: Session) -> Iterator[Rig]:  # fmt: skip
    """Claims and the token in the database (one replica) or in Redis (several)."""
    if request.param.startswith("redis") and not redis_reachable():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    with rig_with_merchants(settings, tmp_path, db_session, pubsub_url=request.param) as rigged:
        yield rigged


def concurrently(*calls: object) -> list[Reply]:
    """Run the calls in threads at once (WeChat's retry while the first is still running)."""
    results: list[Reply | None] = [None] * len(calls)

    def run(i: int, call: object) -> None:
        results[i] = call()  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for i, thread in enumerate(threads):
        thread.start()
        if i == 0:
            time.sleep(0.3)  # the retry arrives while the first is with the bot
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def test_a_retry_while_the_first_is_running_is_processed_once(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    rig.rasa.delay = 1.5
    msg_id = fan.next_msg_id()
    first, retry = concurrently(lambda: fan.text("顾客说扣了两次", msg_id),
                                lambda: fan.text("顾客说扣了两次", msg_id))  # fmt: skip
    assert first.text is not None and first.text.startswith("heard: 顾客说扣了两次")
    assert retry.text == first.text  # answered from the first one's result
    bot_calls = [m for m in rig.rasa.received if m["message"] == "顾客说扣了两次"]
    assert len(bot_calls) == 1
    sid = rig.session_of(fan.openid)
    assert [t for s, t in rig.transcript(sid or "") if s == "merchant"].count("顾客说扣了两次") == 1
    # A late third retry gets the same answer again, still without a second turn.
    assert fan.text("顾客说扣了两次", msg_id).text == first.text
    assert len(rig.rasa.received) == 1  # binding never reaches the bot; one turn in all
    assert rig.wechat.sent == []


def test_a_bot_slower_than_five_seconds_is_delivered_once_by_customer_service_api(
    rig: Rig,
) -> None:
    fan = rig.bound(MERCHANT_A)
    rig.rasa.delay = 6.0
    msg_id = fan.next_msg_id()
    began = time.monotonic()
    first = fan.text("刷卡显示失败", msg_id)
    assert first.body == b"success" and time.monotonic() - began < 5.0  # within WeChat's 5 s
    retry = fan.text("刷卡显示失败", msg_id)  # WeChat retries after 5 s: nothing new
    assert retry.body == b"success"
    wait_until(lambda: rig.wechat.texts_to(fan.openid), timeout=10)
    time.sleep(1.0)  # anything sent twice would arrive by now
    assert rig.wechat.texts_to(fan.openid) == ["heard: 刷卡显示失败 [解决了]"]
    assert rig.wechat.sent[0]["msgtype"] == "msgmenu"  # the button, tappable
    assert rig.outbound(fan.openid) == [("passive", None), ("sent", None)]  # bind, then this
    # Tapping the menu item sends its title with bizmsgmenuid: the button's payload goes on.
    rig.rasa.delay = 0
    tapped = fan.post(fan.message_xml("text", Content="解决了", bizmsgmenuid="1",
                                      MsgId=fan.next_msg_id()))  # fmt: skip
    assert tapped.text is not None and tapped.text.startswith("heard: /affirm")


def test_an_agent_reply_reaches_wechat_after_takeover_and_hand_back_too(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    fan.text("转人工")
    sid = rig.session_of(fan.openid)
    assert sid is not None
    with httpx.Client(base_url=rig.base_url) as http:
        escalated = http.post(f"/internal/v1/sessions/{sid}/escalations",
                              headers=internal(rig.settings), json={"reason": "merchant_request"})
        assert escalated.status_code == 200, escalated.text
        queued = fan.text("在吗")  # while queued: the ticket and the place in the queue
        assert queued.text is not None and escalated.json()["ticket_no"] in queued.text
        agent = {"Authorization": make_agent(rig.settings, "alice")}
        assert http.post(f"/api/v1/agent/sessions/{sid}/claim", headers=agent).status_code == 200
        said = http.post(f"/api/v1/agent/sessions/{sid}/messages", headers=agent,
                         json={"text": "您好，我是人工客服，正在核对"})  # fmt: skip
        assert said.status_code == 200
        wait_until(lambda: any("正在核对" in t for t in rig.wechat.texts_to(fan.openid)))
        assert fan.text("好的").body == b"success"  # the bot is quiet; the agent reads it
        assert http.post(f"/api/v1/agent/sessions/{sid}/handback",
                         headers=agent).status_code == 200  # fmt: skip
    wait_until(lambda: len(rig.wechat.texts_to(fan.openid)) >= 4)
    texts = rig.wechat.texts_to(fan.openid)
    assert "alice" in texts[0]  # 客服 alice 已接入
    assert texts[1] == "【客服 alice】您好，我是人工客服，正在核对"
    assert texts[-1].startswith("heard: /greet")  # the bot greets again after hand-back
    assert [m["message"] for m in rig.rasa.received].count("好的") == 0


@pytest.mark.parametrize("errcode", [45015, 45047])
def test_an_unreachable_follower_is_recorded_not_retried(rig: Rig, errcode: int) -> None:
    fan = rig.bound(MERCHANT_A)
    fan.text("转人工")
    sid = rig.session_of(fan.openid) or ""
    with httpx.Client(base_url=rig.base_url) as http:
        http.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal(rig.settings),
                  json={"reason": "merchant_request"})  # fmt: skip
        agent = {"Authorization": make_agent(rig.settings, f"bob{errcode}")}
        rig.wechat.refuse[fan.openid] = errcode
        assert http.post(f"/api/v1/agent/sessions/{sid}/claim", headers=agent).status_code == 200
        wait_until(lambda: rig.outbound(fan.openid)[-1][0] == "unreachable")
        assert rig.outbound(fan.openid)[-1] == ("unreachable", errcode)
        page = http.get(f"/api/v1/agent/sessions/{sid}", headers=agent).json()
        assert "微信上" in page["unreachable"]
    with session_scope(rig.settings.database_url) as db:
        reason = db.get_one(Follower, fan.openid).unreachable_reason
    assert reason == {45015: "window_closed", 45047: "quota"}[errcode]
    assert rig.wechat.sent == []
    # The follower writes again: the window opens, and they are reachable once more.
    del rig.wechat.refuse[fan.openid]
    fan.text("还在吗")
    with session_scope(rig.settings.database_url) as db:
        assert db.get_one(Follower, fan.openid).unreachable_reason is None


def test_unsubscribe_stops_sending(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    fan.text("转人工")
    sid = rig.session_of(fan.openid) or ""
    assert fan.event("unsubscribe").body == b"success"
    with httpx.Client(base_url=rig.base_url) as http:
        http.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal(rig.settings),
                  json={"reason": "merchant_request"})  # fmt: skip
        agent = {"Authorization": make_agent(rig.settings, "carol")}
        http.post(f"/api/v1/agent/sessions/{sid}/claim", headers=agent)
    wait_until(lambda: rig.outbound(fan.openid)[-1] == ("unreachable", None))
    assert rig.wechat.sent == []
    assert "欢迎" in (fan.event("subscribe").text or "")


def test_a_photo_is_fetched_and_kept_as_evidence(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    rig.wechat.media["MEDIA1"] = png()
    reply = fan.post(fan.message_xml("image", PicUrl="http://x/y.jpg", MediaId="MEDIA1",
                                     MsgId=fan.next_msg_id()))  # fmt: skip
    assert reply.text is not None and "凭证" in reply.text
    sid = rig.session_of(fan.openid) or ""
    with httpx.Client(base_url=rig.base_url) as http:
        agent = {"Authorization": make_agent(rig.settings, "dave")}
        detail = http.get(f"/api/v1/agent/sessions/{sid}", headers=agent).json()
    assert any(m.get("attachment") for m in detail["transcript"])
    missing = fan.post(fan.message_xml("image", MediaId="NOPE", MsgId=fan.next_msg_id()))
    assert missing.text is not None and "重新发" in missing.text


def test_voice_uses_recognition_or_asks_to_type(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    spoken = fan.message_xml("voice", MediaId="v", Format="amr", Recognition="刷卡失败了",
                             MsgId=fan.next_msg_id())  # fmt: skip
    heard = fan.post(spoken)
    assert heard.text is not None and heard.text.startswith("heard: 刷卡失败了")
    silent = fan.post(fan.message_xml("voice", MediaId="v", Format="amr",
                                      MsgId=fan.next_msg_id()))  # fmt: skip
    assert silent.text is not None and "打字" in silent.text


def test_menu_clicks_go_to_the_conversation(rig: Rig) -> None:
    fan = rig.bound(MERCHANT_A)
    assert (fan.event("CLICK", "REPORT_DROP").text or "").startswith("heard: /report_drop")
    assert "绑定码" in (fan.event("CLICK", "BIND").text or "")
    guest: FollowerClient = rig.follower()
    assert "绑定" in (guest.event("CLICK", "REPORT_DROP").text or "")
