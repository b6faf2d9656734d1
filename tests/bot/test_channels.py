"""The DropDesk channel's answer takes the slots its own turn saved (bot/channels.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import channels


class Tracker:
    def __init__(self, slots: dict[str, Any]) -> None:
        self.slots = slots
        self.sender_id = "s-1"

    def current_slot_values(self) -> dict[str, Any]:
        return dict(self.slots)


class Store:
    def __init__(self) -> None:
        self.saved: list[Tracker] = []

    async def save(self, tracker: Tracker) -> None:
        self.saved.append(tracker)


def test_a_request_sees_the_slots_its_turn_saved_and_others_see_nothing() -> None:
    store = Store()
    channels.keep_saved_slots(store)
    channels.keep_saved_slots(store)  # installed once, whoever asks again

    async def turn(amount: str, asks: bool) -> list[dict[str, Any]] | None:
        kept: list[dict[str, Any]] | None = [] if asks else None
        channels._saved_slots.set(kept)
        await store.save(Tracker({"amount": amount}))
        return kept

    async def both() -> tuple[Any, Any]:
        # Concurrent requests, each in its own task and context, as Sanic runs them.
        return await asyncio.gather(turn("320.50", True), turn("88", False))

    mine, other = asyncio.run(both())
    assert mine == [{"amount": "320.50"}]
    assert other is None
    assert [t.slots["amount"] for t in store.saved] == ["320.50", "88"]  # still saved, once each


def test_a_turn_that_logged_errors_is_not_saved() -> None:
    """Rasa goes on after an action failed; the channel answers 503 and keeps nothing of the
    turn, so the message sent again is the same turn, not a second one."""
    store = Store()
    channels.keep_saved_slots(store)

    async def turn(errors: list[str]) -> list[dict[str, Any]]:
        channels._turn_errors.set(errors)
        kept: list[dict[str, Any]] = []
        channels._saved_slots.set(kept)
        await store.save(Tracker({"amount": "320.50"}))
        return kept

    assert asyncio.run(turn(["Encountered an exception while running action"])) == []
    assert store.saved == []
    assert asyncio.run(turn([])) == [{"amount": "320.50"}]
    assert len(store.saved) == 1


def test_a_retried_message_already_taken_gets_its_own_answer_back() -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    buttons = [{"title": "是", "payload": "/affirm"}]
    events = [
        UserUttered("你好", message_id="dd-1"),
        BotUttered("您好，请说说遇到的问题"),
        ActionExecuted("action_listen"),
        UserUttered("刚才320块5显示超时", message_id="dd-2"),
        SlotSet("amount", "320.50"),
        BotUttered("这笔的参考号是多少？", data={"buttons": buttons}),
        BotUttered("没有的话告诉我时间也行"),
        ActionExecuted("action_listen"),
    ]

    class Kept:
        async def retrieve(self, sender_id: str) -> DialogueStateTracker:
            return DialogueStateTracker.from_events(sender_id, events, slots=[])

    async def lookup(message_id: str) -> dict[str, Any] | None:
        return await channels._finished_turn(Kept(), "s-1", message_id)

    answer = asyncio.run(lookup("dd-2"))
    assert answer is not None
    assert [(m["text"], m.get("buttons")) for m in answer["messages"]] == [
        ("这笔的参考号是多少？", buttons),
        ("没有的话告诉我时间也行", None),
    ]
    first = asyncio.run(lookup("dd-1"))
    assert first is not None
    assert [m["text"] for m in first["messages"]] == ["您好，请说说遇到的问题"]
    assert asyncio.run(lookup("dd-3")) is None  # never reached Rasa: the turn runs
