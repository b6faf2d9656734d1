"""A tracker store that fails fails the turn: no fresh conversation in memory, no save that only
this process would ever see; PostgreSQL connections are checked before use."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
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


# --- the tracker a turn saved is handed to the next turn, only while the database agrees ----


SLOTS = "slots:\n  amount:\n    type: text\n    mappings:\n    - type: custom\n"


def _sql_store(path: str, domain: Domain) -> rasa_tracker_store.SQLTrackerStore:
    return rasa_tracker_store.SQLTrackerStore(domain, dialect="sqlite", db=path)


def _turn(tracker: DialogueStateTracker, text: str, reply: str) -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    for event in (UserUttered(text), BotUttered(reply), ActionExecuted("action_listen")):
        tracker.update(event)


def test_the_saved_tracker_is_reused_while_the_database_holds_exactly_it(tmp_path: Any) -> None:
    domain = Domain.from_yaml(SLOTS)
    db = str(tmp_path / "tracker.db")
    mine, other = _sql_store(db, domain), _sql_store(db, domain)  # two replicas, one database

    async def scenario() -> None:
        tracker = DialogueStateTracker("m-1", domain.slots)
        _turn(tracker, "你好", "您好")
        await mine.save(tracker)
        hits = tracker_store.CACHE.hits
        again = await mine.retrieve("m-1")
        assert again is tracker and tracker_store.CACHE.hits == hits + 1  # no rebuild
        # Handed out once: a turn that then fails (never saved) leaves nothing cached.
        fresh = await mine.retrieve("m-1")
        assert fresh is not tracker and fresh is not None
        assert [e.as_dict()["event"] for e in fresh.events] == [
            e.as_dict()["event"] for e in tracker.events
        ]
        _turn(fresh, "320块", "好的")
        await mine.save(fresh)
        # The other replica takes the next turn: this process's copy is now behind.
        theirs = await other.retrieve("m-1")
        assert theirs is not None
        _turn(theirs, "五分钟前", "查到了")
        await other.save(theirs)
        latest = await mine.retrieve("m-1")
        assert latest is not fresh and latest is not None
        assert [e.text for e in latest.events if e.as_dict()["event"] == "user"] == [
            "你好",
            "320块",
            "五分钟前",
        ]
        # A tracker changed after its save (not saved again) is not handed out as saved.
        await mine.save(latest)
        _turn(latest, "谢谢", "不客气")
        reread = await mine.retrieve("m-1")
        assert reread is not latest and reread is not None
        assert len(reread.events) == len(latest.events) - 3

    asyncio.run(scenario())


def test_a_first_save_is_kept_as_the_next_retrieve_would_see_it(tmp_path: Any) -> None:
    """A session start stamps its set-up events a moment before SessionStarted; a retrieve
    never returns those, so the kept tracker must not hold them either (Rasa's save appends
    past the number of events the database holds: one extra event would be stored twice)."""
    import time

    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

    domain = Domain.from_yaml(SLOTS)
    store = _sql_store(str(tmp_path / "tracker.db"), domain)

    async def scenario() -> None:
        tracker = DialogueStateTracker("m-2", domain.slots)
        early = time.time() - 10  # a session set up a moment before the first message
        tracker.update(ActionExecuted("action_session_start", timestamp=early))
        tracker.update(SlotSet("amount", None, timestamp=early))
        tracker.update(SessionStarted(timestamp=early + 0.001))
        tracker.update(ActionExecuted("action_listen", timestamp=early + 0.002))
        _turn(tracker, "你好", "您好")
        await store.save(tracker)
        kept = await store.retrieve("m-2")
        assert kept is not None and kept is not tracker  # the retrieve's view, not the original
        assert len(kept.events) == len(tracker.events) - 2
        _turn(kept, "320块", "好的")
        await store.save(kept)
        again = await store.retrieve("m-2")
        assert again is kept  # from now on the saved tracker itself
        tracker_store.CACHE.take(store, "m-2")  # forget it: read what the database holds
        stored = await store.retrieve("m-2")
        assert stored is not None
        assert [e.as_dict()["event"] for e in stored.events] == [
            e.as_dict()["event"] for e in kept.events
        ]  # nothing was stored twice

    asyncio.run(scenario())


def test_the_sqlite_tracker_file_is_in_wal_mode(tmp_path: Any) -> None:
    """One commit per turn without the rollback journal's fsyncs on Rasa's event loop."""
    store = _sql_store(str(tmp_path / "tracker.db"), Domain.from_yaml(SLOTS))
    asyncio.run(store.save(DialogueStateTracker("m-3", store.domain.slots)))
    with store.session_scope() as session:
        assert session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_sqlite_connections_are_kept_open_between_sessions(tmp_path: Any) -> None:
    """SQLAlchemy 1.4 gives a SQLite file a NullPool: each session reopened the file, set its
    pragmas and closed it (and the last close of a WAL file checkpoints it)."""
    store = _sql_store(str(tmp_path / "tracker.db"), Domain.from_yaml(SLOTS))
    assert isinstance(store.engine.pool, sa.pool.QueuePool)
    seen = []
    for _ in range(3):
        with store.session_scope() as session:
            seen.append(session.connection().connection.dbapi_connection)
    assert seen[0] is seen[1] is seen[2]


def test_a_cached_tracker_is_saved_without_counting_its_rows(tmp_path: Any) -> None:
    """Its save appends past the count checked as it was handed out; the database then holds
    every event exactly once, turn after turn."""
    domain = Domain.from_yaml(SLOTS)
    store = _sql_store(str(tmp_path / "tracker.db"), domain)
    counts: list[str] = []
    sa.event.listen(
        store.engine, "before_cursor_execute",
        lambda *args: counts.append(args[2]) if "count(" in args[2].lower() else None,
    )  # fmt: skip

    async def scenario() -> None:
        tracker = DialogueStateTracker("m-4", domain.slots)
        _turn(tracker, "你好", "您好")
        await store.save(tracker)
        assert counts  # a first save counts (nothing is known about the database yet)
        for n in range(5):
            counts.clear()
            cached = await store.retrieve("m-4")
            assert cached is tracker
            _turn(tracker, f"第{n}句", "好的")
            await store.save(tracker)
            assert counts == []
        tracker_store.CACHE.take(store, "m-4")
        stored = await store.retrieve("m-4")
        assert stored is not None
        assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in tracker.events]

    asyncio.run(scenario())
