"""A photo of a slip in the conversation: real OCR, the real service and the real trained bot.

The bot says what it read in one message and uses none of it before the merchant's yes.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest

from dropdesk import demo
from dropdesk.database.core import session_scope
from dropdesk.slip import messages as slip_messages
from dropdesk.timezone import now_shanghai
from tests.e2e.conftest import Chat, Stack
from tests.slips.generate import Expected, cjk_font_path, slip_showing

NO_FONT = "no CJK font to draw slips: apt-get install fonts-wqy-microhei"
pytestmark = [pytest.mark.rasa, pytest.mark.skipif(cjk_font_path() is None, reason=NO_FONT)]
ASKED = "我从照片上看到："
# The first photo also waits for the OCR worker to load its models.
PHOTO_SECONDS = 150


def seed_store(stack: Stack) -> dt.datetime:
    """Seed the demo store afresh; return the minute of its 320.50 sale (…0001, 25 minutes ago)."""
    now = now_shanghai()
    with session_scope(stack.settings.database_url) as db_session:
        demo.seed(db_session=db_session, now=now)
    return (now - dt.timedelta(minutes=25)).replace(second=0, microsecond=0)


def slip_of_the_timeout_sale(when: dt.datetime) -> bytes:
    """The 签购单 of the store's sale 612300000001 (approved; the terminal timed out)."""
    shown = Expected(
        merchant_no=demo.STORE.merchant_no,
        terminal_no=demo.STORE.terminal_no,
        reference_no="612300000001",
        trace_no="000101",
        batch_no="000017",
        amount=Decimal("320.50"),
        txn_time=when,
        card_last4=demo.CARD_A[-4:],
    )
    return slip_showing(18, shown, ("thermal",)).image


def send_photo(chat: Chat, data: bytes) -> None:
    sent = chat.http.post(
        f"/api/v1/sessions/{chat.id}/attachments",
        files={"file": ("slip.png", data, "image/png")},
    )
    assert sent.status_code == 201, sent.text


def bot_messages(chat: Chat) -> list[dict[str, Any]]:
    listed = chat.http.get(f"/api/v1/sessions/{chat.id}/messages").json()
    return [m for m in listed if m["sender"] == "bot"]


def wait_for_answer(chat: Chat, already: int) -> dict[str, Any]:
    """The one message about the photo, once the service has read it (and asked the bot)."""
    deadline = time.monotonic() + PHOTO_SECONDS
    while time.monotonic() < deadline:
        new = bot_messages(chat)[already:]
        if new:
            time.sleep(1)  # nothing else may follow
            new = bot_messages(chat)[already:]
            assert len(new) == 1, new
            return new[0]
        time.sleep(0.5)
    raise AssertionError(f"no answer about the photo: {chat.transcript()}")


def photo_confirmed(chat: Chat, data: bytes) -> dict[str, Any]:
    """Send the photo; return the bot's confirmation of what it shows."""
    already = len(bot_messages(chat))
    send_photo(chat, data)
    answer = wait_for_answer(chat, already)
    if answer["text"] in (slip_messages.TIMEOUT, slip_messages.FAILED):
        # The OCR worker ran out of time on a machine busy with other work (the reading itself
        # is tested in tests/api): the merchant would send the photo again, and so do we.
        already = len(bot_messages(chat))
        send_photo(chat, data)
        answer = wait_for_answer(chat, already)
    assert answer["text"].startswith(ASKED), answer["text"]
    return answer


def test_a_slip_photo_is_confirmed_then_diagnosed(stack: Stack, store_chat: Chat) -> None:
    when = seed_store(stack)
    asked = photo_confirmed(store_chat, slip_of_the_timeout_sale(when))
    assert asked["text"].endswith("对吗？")
    for shown in ("参考号 612300000001", "¥320.50", f"{when:%H:%M}", "卡号尾号 0128"):
        assert shown in asked["text"], asked["text"]
    assert [(b["title"], b["payload"]) for b in asked["buttons"]] == [
        ("对", "/affirm"),
        ("不对", "/deny"),
    ]
    state = store_chat.state()
    assert state["evidence"]["order_ref"] is None  # nothing from the photo before the yes
    assert state["diagnosis"] is None

    store_chat.say("对")
    state = store_chat.state()
    assert state["diagnosis"] is not None, store_chat.transcript()
    assert state["diagnosis"]["code"] == "approved_not_printed", store_chat.transcript()
    evidence = state["evidence"]
    assert evidence["order_ref"] == "612300000001"
    assert evidence["amount"] == "320.50"
    assert evidence["card_last4"] == "0128"
    start = dt.datetime.fromisoformat(evidence["txn_time"]["start"])
    end = dt.datetime.fromisoformat(evidence["txn_time"]["end"])
    assert start <= when < end <= when + dt.timedelta(minutes=1)
    assert "参考号 612300000001" in store_chat.transcript()
    assert "不要让顾客重复付款" in store_chat.transcript()


def test_a_photo_after_a_diagnosis_said_wrong_asks_for_the_details_typed(
    stack: Stack, store_chat: Chat
) -> None:
    when = seed_store(stack)
    store_chat.say("两个小时前刷88元没成功，参考号612300000051")
    assert store_chat.state()["diagnosis"]["code"] == "declined", store_chat.transcript()
    photo_confirmed(store_chat, slip_of_the_timeout_sale(when))
    # A photo after an answer is another drop: the earlier details are not kept.
    assert store_chat.state()["evidence"]["order_ref"] is None

    body = store_chat.say("不对")
    (reply,) = [m["text"] for m in body["messages"]]
    assert "照片上的信息不用了" in reply and "请直接打字" in reply, reply
    state = store_chat.state()
    assert state["evidence"]["order_ref"] is None
    assert state["evidence"]["amount"] is None

    store_chat.say("参考号612300000098")
    state = store_chat.state()
    assert state["diagnosis"]["code"] == "reversed", store_chat.transcript()
    assert state["evidence"]["order_ref"] == "612300000098"
    assert state["evidence"]["amount"] is None  # nothing from the photo was used
