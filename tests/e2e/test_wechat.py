"""The WeChat channel on the whole stack: real model, real action server, real service.

WeChat's side is the fake on loopback (real signatures and AES); a delaying proxy in front
of Rasa makes the bot slow without touching the production path.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dropdesk import demo
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate
from dropdesk.conversation.models import ChatSession
from dropdesk.database.core import session_scope
from dropdesk.devrun import Stack, free_port, local_stack, serve_in_thread
from dropdesk.diagnosis.models import DiagnosisRecord
from dropdesk.timezone import now_shanghai
from dropdesk.wechat import service as wechat_service
from dropdesk.wechat.models import Follower
from dropdesk.wechat.simulator import DelayingProxy, FakeWeChat, FollowerClient
from tests.api.wechat_helpers import SECRET, TOKEN, aes_key
from tests.e2e.conftest import BOT_VENV, MODEL

pytestmark = pytest.mark.rasa
APPID = "wxe2e0000000000001"


class Rig:
    def __init__(self, stack: Stack, wechat: FakeWeChat, proxy: DelayingProxy, key: str) -> None:
        self.stack, self.wechat, self.proxy, self.key = stack, wechat, proxy, key

    def follower(self, mode: str = "plain") -> FollowerClient:
        return FollowerClient(base_url=self.stack.base_url, token=TOKEN, appid=APPID,
                              openid=f"o-e2e-{time.monotonic_ns()}", aes_key=self.key,
                              mode=mode, timeout=60)  # fmt: skip

    def bound(self, merchant_no: str, mode: str = "plain") -> FollowerClient:
        with session_scope(self.stack.settings.database_url) as db:
            code = wechat_service.issue_bind_code(db_session=db, merchant_no=merchant_no,
                                                  secret_key=self.stack.settings.secret_key,
                                                  minutes=10).code  # fmt: skip
        fan = self.follower(mode)
        assert "绑定成功" in (fan.text(f"绑定 {code}").text or "")
        return fan

    def say(self, fan: FollowerClient, text: str, wait: float = 30) -> str:
        """What the follower reads: the passive reply, or what custom/send brings after it."""
        before = len(self.wechat.texts_to(fan.openid))
        reply = fan.text(text)
        if reply.text is not None:
            return reply.text
        assert reply.body == b"success", reply
        deadline = time.monotonic() + wait
        while len(self.wechat.texts_to(fan.openid)) == before:
            assert time.monotonic() < deadline, f"no answer to {text!r}"
            time.sleep(0.1)
        time.sleep(0.5)
        return "\n".join(self.wechat.texts_to(fan.openid)[before:])

    def session(self, fan: FollowerClient) -> str:
        with session_scope(self.stack.settings.database_url) as db:
            sid = db.get_one(Follower, fan.openid).session_id
        assert sid is not None
        return sid


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    if not MODEL or not Path(MODEL).exists():
        if os.environ.get("DROPDESK_REQUIRE_RASA") == "1":
            pytest.fail(f"trained model not found: {MODEL!r}")
        pytest.skip("no trained Rasa model: run through `make test` (DROPDESK_TEST_MODEL)")
    wechat, proxy, key = FakeWeChat(appid=APPID, secret=SECRET), DelayingProxy(), aes_key()
    workdir = tmp_path_factory.mktemp("wechat-stack")
    proxy_port = free_port()
    with serve_in_thread(wechat.app, free_port()) as api, serve_in_thread(proxy.app, proxy_port):
        extra = {
            "DROPDESK_WECHAT_TOKEN": TOKEN, "DROPDESK_WECHAT_APPID": APPID,
            "DROPDESK_WECHAT_SECRET": SECRET, "DROPDESK_WECHAT_AES_KEY": key,
            "DROPDESK_WECHAT_API_BASE": api, "DROPDESK_UPLOAD_DIR": str(workdir / "uploads"),
            "DROPDESK_WORKING_HOURS": "00:00-24:00",
            "DROPDESK_RASA_URL": f"http://127.0.0.1:{proxy_port}",  # the service asks the proxy
        }  # fmt: skip
        with local_stack(workdir, Path(MODEL).resolve(), BOT_VENV, extra_env=extra) as stack:
            proxy.target = stack.settings.rasa_url
            with session_scope(stack.settings.database_url) as db:
                demo.seed(db_session=db, now=now_shanghai())
            yield Rig(stack, wechat, proxy, key)


def _latest_code(rig: Rig, session_id: str) -> str | None:
    with session_scope(rig.stack.settings.database_url) as db:
        chat = db.get_one(ChatSession, session_id)
        record = db.get(DiagnosisRecord, chat.latest_diagnosis_id or 0)
        return record.code if record else None


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_a_drop_is_diagnosed_over_wechat(rig: Rig, mode: str) -> None:
    fan = rig.bound(demo.STORE.merchant_no, mode)
    answer = rig.say(fan, "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001")
    assert "612300000001" in answer and "不要让顾客重复付款" in answer, answer
    assert "回复数字即可选择" in answer or "[解决了]" in answer, answer
    assert _latest_code(rig, rig.session(fan)) == "approved_not_printed"
    numbered = re.search(r"(\d)\. 解决了", answer)  # answered by its number when passive
    choice = numbered.group(1) if numbered else "解决了"
    assert "太好了" in rig.say(fan, choice)


def test_a_slow_bot_is_answered_once_through_customer_service_messages(rig: Rig) -> None:
    fan = rig.bound(demo.STORE.merchant_no)
    rig.proxy.delay = 6.0
    try:
        msg_id = fan.next_msg_id()
        began = time.monotonic()
        first = fan.text("你好", msg_id)
        assert first.body == b"success" and time.monotonic() - began < 5
        assert fan.text("你好", msg_id).body == b"success"  # WeChat's retry
        deadline = time.monotonic() + 20
        while not rig.wechat.texts_to(fan.openid) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
    finally:
        rig.proxy.delay = 0
    texts = rig.wechat.texts_to(fan.openid)
    assert len(texts) == 1 and "DropDesk" in texts[0], texts


def test_an_agent_answers_in_wechat_after_takeover(rig: Rig) -> None:
    fan = rig.bound(demo.STORE.merchant_no)
    escalated = rig.say(fan, "转人工")
    sid = rig.session(fan)
    with session_scope(rig.stack.settings.database_url) as db:
        agent = agent_service.create(db_session=db, now=now_shanghai(),
                                     spec=AgentCreate(name=f"wx{time.monotonic_ns() % 10**8}",
                                                      password="e2e agent password"))  # fmt: skip
        token = agent_service.issue_api_token(db_session=db, agent=agent)
        status = db.get_one(ChatSession, sid).status
    assert status == "queued", escalated
    headers: dict[str, Any] = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{rig.stack.base_url}/api/v1/agent", headers=headers) as http:
        assert http.post(f"/sessions/{sid}/claim").status_code == 200
        said = http.post(f"/sessions/{sid}/messages", json={"text": "您好，我来帮您查这笔交易"})
        assert said.status_code == 200
    deadline = time.monotonic() + 15
    while not any("我来帮您查" in t for t in rig.wechat.texts_to(fan.openid)):
        assert time.monotonic() < deadline, rig.wechat.texts_to(fan.openid)
        time.sleep(0.1)


def test_a_guest_gets_general_answers_and_is_asked_to_bind_for_lookups(rig: Rig) -> None:
    guest = rig.follower()
    network = rig.say(guest, "网络老是断，刷卡总掉单怎么办")
    assert "网络" in network and "签到" in network, network
    lookup = rig.say(guest, "刚才刷了320块5，参考号612300000001的钱扣了没有")
    assert "绑定" in lookup and "612300000001" not in lookup, lookup
