"""Rasa's SQL tracker store per turn: stock Rasa 3.6 against bot/tracker_store.py, same run.

Usage (bot runtime): .venv-bot/bin/python bench/tracker_bench.py [--turns 60] [--conversations 20]

Each variant plays --conversations conversations of --turns turns on a fresh SQLite file, one
turn at a time as Rasa's processor does: retrieve the tracker, append a turn's events (the
merchant's message, two slots, an action, the bot's answer, action_listen), save. It prints the
milliseconds per turn (wall and CPU, which are the same here: nothing waits) at the start and at
the end of the conversations, and the ratio. Stock runs first, then bot.tracker_store.install()
patches the classes (it cannot be undone in one process).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import tracker_store

DOMAIN = Domain.from_yaml(
    "slots:\n"
    "  amount:\n    type: text\n    mappings:\n    - type: custom\n"
    "  order_ref:\n    type: text\n    mappings:\n    - type: custom\n"
)


async def play(store: SQLTrackerStore, sender: str, turns: int) -> list[float]:
    """Milliseconds of CPU per turn (retrieve + save)."""
    spent = []
    for n in range(turns):
        started = time.process_time()
        tracker = await store.get_or_create_tracker(sender)
        if n == 0:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
            tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(f"参考号61230000{n:04d} 320块", {"name": "inform"}))
        tracker.update(SlotSet("amount", "320.00"))
        tracker.update(SlotSet("order_ref", f"61230000{n:04d}"))
        tracker.update(ActionExecuted("action_diagnose_drop"))
        tracker.update(BotUttered("查到了这笔交易：¥320.00，已成功。"))
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
        spent.append((time.process_time() - started) * 1000)
    return spent


def run(label: str, turns: int, conversations: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(Path(tmp) / "tracker.db"))
        times = [asyncio.run(play(store, f"m-{c}", turns)) for c in range(conversations)]
    first = statistics.median(t for per in times for t in per[:10])
    last = statistics.median(t for per in times for t in per[-10:])
    print(f"  {label:<26} turns 1-10: {first:6.2f} ms   turns {turns - 9}-{turns}: {last:6.2f} ms")
    return first, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--conversations", type=int, default=20)
    args = parser.parse_args()
    print(f"tracker store, SQLite: {args.conversations} conversations x {args.turns} turns, "
          f"CPU ms per turn (retrieve + save), median")  # fmt: skip
    stock = run("stock Rasa 3.6", args.turns, args.conversations)
    tracker_store.install()
    ours = run("bot/tracker_store.py", args.turns, args.conversations)
    print(f"  ratio stock/ours: turns 1-10 {stock[0] / ours[0]:.1f}x, "
          f"last 10 {stock[1] / ours[1]:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
