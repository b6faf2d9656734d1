"""A tracker store that fails fails the turn: no fresh conversation in memory, no save that only
this process would ever see; PostgreSQL connections are checked before use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core import tracker_store as rasa_tracker_store
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_store


class BrokenStore(InMemoryTrackerStore):
    """The database went away."""

    async def retrieve(self, sender_id: str) -> Any:
        raise ConnectionError("server closed the connection unexpectedly")

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("server closed the connection unexpectedly")


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    tracker_store.install()


def test_a_failed_retrieve_fails_the_turn_instead_of_starting_over() -> None:
    store = FailSafeTrackerStore(BrokenStore(Domain.empty()))
    with pytest.raises(tracker_store.TrackerStoreUnavailableError):
        asyncio.run(store.retrieve("merchant-1"))


def test_a_failed_save_is_not_kept_in_this_process_memory_only() -> None:
    store = FailSafeTrackerStore(BrokenStore(Domain.empty()))
    with pytest.raises(tracker_store.TrackerStoreUnavailableError):
        asyncio.run(store.save(DialogueStateTracker("merchant-1", slots=[])))
    assert asyncio.run(store.fallback_tracker_store.retrieve("merchant-1")) is None


def test_postgresql_connections_are_checked_before_use() -> None:
    kwargs = rasa_tracker_store.create_engine_kwargs("postgresql://u:p@db:5432/rasa")
    assert kwargs["pool_pre_ping"] is True
    assert kwargs["pool_size"] > 0  # Rasa's own arguments are kept


def test_a_working_store_is_untouched() -> None:
    store = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    asyncio.run(store.save(DialogueStateTracker("merchant-2", slots=[])))
    assert asyncio.run(store.retrieve("merchant-2")) is not None
