"""Whole 掉单 conversations in Chinese through the chat API, against the real trained bot."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dropdesk import demo, messages
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.rasa


def test_everything_in_one_message(store_chat: Chat) -> None:
    store_chat.say("刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001")
    state = store_chat.state()
    assert state["diagnosis"]["code"] == "approved_not_printed", store_chat.transcript()
    assert state["evidence"]["order_ref"] == "612300000001"
    assert state["evidence"]["amount"] == "320.50"
    assert state["evidence"]["txn_time"] is not None
    assert "不要" in store_chat.transcript()  # do NOT charge again


@pytest.mark.parametrize(
    "row",
    demo.try_saying(demo.STORE.merchant_no),
    ids=lambda row: row.code,
)
def test_every_demo_sentence_is_diagnosed_at_once(store_chat: Chat, row: demo.TrySaying) -> None:
    # README.md and the portal offer these sentences: each must reach its code in one turn.
    store_chat.say(row.text)
    state = store_chat.state()
    assert state["diagnosis"] is not None, store_chat.transcript()
    assert state["diagnosis"]["code"] == row.code, store_chat.transcript()


def test_one_detail_at_a_time_without_reference(store_chat: Chat) -> None:
    store_chat.say("顾客说同一张卡被扣了两次钱")
    store_chat.say("没有单号")
    store_chat.say("五十分钟前")
    body = store_chat.say("199元")
    state = body["session"]
    assert state["diagnosis"]["code"] == "duplicate_charge", store_chat.transcript()
    assert state["evidence"]["order_ref"] is None
    assert state["evidence"]["amount"] == "199.00"


@pytest.mark.parametrize(
    "correction",
    [
        "不对，参考号是612300000098，金额是256",
        "说错了，不是612300000051是612300000098，金额不是88是256",  # the old values named too
    ],
)
def test_correction_rediagnoses(store_chat: Chat, correction: str) -> None:
    store_chat.say("参考号612300000051，两个小时前，88元，刷卡没成功")
    assert store_chat.state()["diagnosis"]["code"] == "declined", store_chat.transcript()
    store_chat.say(correction)
    state = store_chat.state()
    assert state["diagnosis"]["code"] == "reversed", store_chat.transcript()
    assert state["evidence"]["order_ref"] == "612300000098", store_chat.transcript()
    assert state["evidence"]["amount"] == "256.00", store_chat.transcript()


def test_ambiguous_asks_for_card_tail(store_chat: Chat) -> None:
    store_chat.say("四个小时前刷了66元，不知道顾客付没付")
    store_chat.say("没有单号")
    state = store_chat.state()
    assert state["diagnosis"]["code"] == "ambiguous", store_chat.transcript()
    assert "后四位" in store_chat.transcript()
    store_chat.say("尾号0128")
    assert store_chat.state()["diagnosis"]["code"] == "settlement_pending", store_chat.transcript()


def test_asking_for_a_person_mid_form_escalates(store_chat: Chat) -> None:
    store_chat.say("pos机掉单了")
    body = store_chat.say("转人工")
    state = body["session"]
    assert state["status"] == "queued" and state["escalated"], store_chat.transcript()
    assert state["ticket_no"] and state["ticket_no"] in store_chat.transcript()


def test_needs_human_code_escalates(store_chat: Chat) -> None:
    store_chat.say("昨晚450元那笔显示超时，参考号612300000450")
    state = store_chat.state()
    assert state["diagnosis"]["code"] == "reversal_failed", store_chat.transcript()
    assert state["escalated"] and state["status"] == "queued"


def test_not_solved_escalates(store_chat: Chat) -> None:
    store_chat.say("参考号612300001280，一小时前，1280元，钱还没到账")
    assert store_chat.state()["diagnosis"]["code"] == "settlement_pending", store_chat.transcript()
    body = store_chat.say("没解决")
    assert body["session"]["escalated"], store_chat.transcript()


def test_other_merchant_sees_nothing(stack: Stack) -> None:
    chat = Chat(stack, demo.NOODLES.merchant_no)
    chat.say("参考号612300000001，刚才，320块5，显示超时")
    state = chat.state()
    assert state["diagnosis"]["code"] == "not_found", chat.transcript()
    assert state["diagnosis"]["transactions"] == []


def test_faq_and_smalltalk(store_chat: Chat) -> None:
    store_chat.say("你好")
    store_chat.say("一清机安全吗")
    store_chat.say("pos机要怎么升级软件")
    text = store_chat.transcript()
    assert "持牌" in text, text
    assert "V2.3.1" in text, text  # the demo terminal's version from the store


def test_action_server_restarting_mid_turn_the_merchant_still_gets_the_answer(
    stack: Stack, store_chat: Chat
) -> None:
    """The action server is down when the report arrives: Rasa's turn fails and keeps nothing,
    the service sends the message again until the action server is back, and the merchant
    gets the diagnosis without sending anything twice."""
    report = "刚才刷了320块5，机器显示超时，顾客说扣钱了，参考号612300000001"
    with ThreadPoolExecutor(max_workers=1) as pool:
        with stack.outage("actions"):
            pending = pool.submit(store_chat.say, report)
            time.sleep(3)  # the turn fails at least once while the action server is away
        body = pending.result(timeout=120)
    assert [m["text"] for m in body["messages"]] != [messages.BOT_UNAVAILABLE], body
    log = (stack.log_dir / "service.log").read_text(encoding="utf-8", errors="replace")
    assert f"turn for {store_chat.id} failed" in log  # it was a retry, not a lucky first try
    state = store_chat.state()
    deadline = time.monotonic() + 60
    while state["diagnosis"] is None and time.monotonic() < deadline:  # answer on its way
        time.sleep(1)
        state = store_chat.state()
    assert state["diagnosis"]["code"] == "approved_not_printed", store_chat.transcript()
    assert state["evidence"]["amount"] == "320.50"
    said = store_chat.http.get(f"/api/v1/sessions/{store_chat.id}/messages").json()
    assert [m["text"] for m in said if m["sender"] == "merchant"] == [report]
