"""The DropDesk channel's answer takes the slots its own turn saved (bot/channels.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import channels


class Tracker:
    def __init__(self, slots: dict[str, Any]) -> None:
        self.slots = slots

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
