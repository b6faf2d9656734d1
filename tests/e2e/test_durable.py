"""Durable by default: Rasa killed in the middle of the drop form keeps the conversation."""

from __future__ import annotations

import pytest

from dropdesk.devrun import warm_up
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.rasa


def test_rasa_killed_mid_form_keeps_the_slots(stack: Stack, store_chat: Chat) -> None:
    store_chat.say("顾客说同一张卡被扣了两次钱")
    store_chat.say("没有单号")
    store_chat.say("五十分钟前")
    held = store_chat.state()
    assert held["diagnosis"] is None and held["evidence"]["txn_time"] is not None, (
        store_chat.transcript()
    )

    stack.kill("rasa")  # kill -9: nothing is flushed on the way out
    warm_up(stack.settings.rasa_url, stack.settings.rasa_token)

    # The merchant goes on with the one value still missing, and is not asked again from the top.
    body = store_chat.say("199元")
    state = body["session"]
    assert state["diagnosis"] is not None, store_chat.transcript()
    assert state["diagnosis"]["code"] == "duplicate_charge", store_chat.transcript()
    assert state["evidence"]["amount"] == "199.00"
    assert state["evidence"]["txn_time"] == held["evidence"]["txn_time"]
    assert state["evidence"]["order_ref"] is None
