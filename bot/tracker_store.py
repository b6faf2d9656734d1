"""The tracker store fails a turn rather than forget the conversation.

Rasa 3.6 wraps the configured tracker store in a FailSafeTrackerStore: when the database does
not answer, `retrieve` logs and returns None, so the turn starts a brand-new conversation in
memory, and `save` keeps the turn in this one process's memory, where no other replica (and
not this one's next `retrieve`) ever looks. With the tracker store on PostgreSQL, a restarted
database sent every conversation back to the first question (seen in
tests/e2e/test_production_stack.py). Here:

- PostgreSQL connections are checked before use (`pool_pre_ping`), so the connections a
  restart cut are replaced instead of failing the first turn that draws them;
- an error of the tracker store fails the turn: the DropDesk channel answers 500, the service
  tells the merchant the message is kept and to send it again, and the conversation in the
  database is untouched;
- the tracker a turn saved is kept in this process (TrackerCache) and handed to the next turn
  of that conversation if the database still holds exactly it: rebuilding a tracker from its
  rows (every event parsed from JSON and applied again) was most of the tracker store's share
  of Rasa's time under load. A cached tracker is used only when the conversation's last event
  id in the database and the tracker's length are what they were at its save, so a turn taken
  by another replica, or written through the HTTP API, is read from the database as before.
  DROPDESK_TRACKER_CACHE=0 turns it off (the load bench compares both);
- on SQLite (the embedded default) the tracker file is in WAL mode with synchronous=NORMAL:
  Rasa's save committed with the default rollback journal and full sync, several fsyncs per turn
  on Rasa's event loop (load bench, one Rasa: 52 ms of Rasa's CPU per turn before, 33 ms
  after). A commit in WAL survives a killed process; only a power cut can lose the last ones.
  Its connections are pooled (see create_engine_kwargs). PostgreSQL (production) keeps Rasa's
  pool, with pre-ping;
- a tracker handed out of the cache is saved without counting its rows again (Rasa's save
  counts the session's events to know which to append): the count was checked as it was
  handed out.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import rasa
import sqlalchemy as sa
from rasa.core import tracker_store
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)
# The Rasa release whose FailSafeTrackerStore, SQLTrackerStore and create_engine_kwargs this was
# read against.
WRITTEN_FOR = "3.6.21"


class TrackerStoreUnavailableError(RuntimeError):
    """The tracker store did not answer: the turn fails, the conversation stays as it was."""


def _refuse(self: FailSafeTrackerStore, error: Exception) -> None:
    """Replaces both FailSafeTrackerStore.on_tracker_store_*error: raise instead of falling
    back (they are called inside the `except` of retrieve, save, keys)."""
    name = self._tracker_store.__class__.__name__
    log.error("tracker store %s failed; the turn fails, nothing falls back to memory: %s",
              name, error)  # fmt: skip
    raise TrackerStoreUnavailableError(f"{name}: {error}") from error


_original_engine_kwargs = tracker_store.create_engine_kwargs


def create_engine_kwargs(url: Any) -> dict[str, Any]:
    """Rasa's engine arguments, plus a liveness check of each pooled connection on checkout
    (PostgreSQL), or a pool at all (SQLite).

    SQLAlchemy 1.4 gives a SQLite file a NullPool: every one of a turn's four sessions opened
    the file, set the pragmas and closed it again, and the last close of a WAL database
    checkpoints it. That was two thirds of the save's time (py-spy, load bench). A QueuePool
    keeps the connections open; each session still ends its transaction when it closes.
    """
    kwargs: dict[str, Any] = dict(_original_engine_kwargs(url))
    if str(url).startswith("sqlite"):
        kwargs["poolclass"] = sa.pool.QueuePool
        # Rasa runs its sessions on the event loop's thread, and now and then on another.
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    return kwargs


@dataclass(frozen=True)
class _Saved:
    tracker: DialogueStateTracker
    last_event_id: int
    length: int


class TrackerCache:
    """The trackers this process saved last, by conversation, at most `size` of them.

    A tracker is handed out once (taken out of the cache): the turn that gets it mutates it,
    and only that turn's save puts it back. A turn that fails leaves nothing here.
    """

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._saved: OrderedDict[tuple[int, str], _Saved] = OrderedDict()
        self.hits = 0  # handed out instead of rebuilt (the tests read it)

    def take(self, store: SQLTrackerStore, sender_id: str) -> _Saved | None:
        return self._saved.pop((id(store), sender_id), None)

    def keep(self, store: SQLTrackerStore, saved: _Saved) -> None:
        key = (id(store), saved.tracker.sender_id)
        self._saved[key] = saved
        self._saved.move_to_end(key)
        while len(self._saved) > self.size:
            self._saved.popitem(last=False)


CACHE = TrackerCache()


def _last_event_id(store: SQLTrackerStore, session: Any, sender_id: str) -> int | None:
    query = session.query(sa.func.max(store.SQLEvent.id))
    return query.filter(store.SQLEvent.sender_id == sender_id).scalar()  # type: ignore[no-any-return]


_original_retrieve = SQLTrackerStore._retrieve
_original_save = SQLTrackerStore.save


# Set on a tracker handed out of the cache: how many of its events the database holds (the
# events of its session). Its save appends the rest without counting the rows again.
STORED = "_dropdesk_stored_events"


def _known_stored(tracker: DialogueStateTracker) -> int | None:
    return getattr(tracker, STORED, None)


async def _retrieve(self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
                    ) -> DialogueStateTracker | None:  # fmt: skip
    saved = None if fetch_events_from_all_sessions else CACHE.take(self, sender_id)
    if saved is not None:
        with self.session_scope() as session:
            last = _last_event_id(self, session, sender_id)
        if last == saved.last_event_id and len(saved.tracker.events) == saved.length:
            CACHE.hits += 1
            setattr(saved.tracker, STORED, saved.length)
            return saved.tracker
    return await _original_retrieve(self, sender_id, fetch_events_from_all_sessions)


_original_additional_events = SQLTrackerStore._additional_events


def _additional_events(self: SQLTrackerStore, session: Any, tracker: DialogueStateTracker
                       ) -> Iterator[Event]:  # fmt: skip
    """The events past those the database holds: counted by Rasa's query, unless the tracker
    came out of the cache, whose count was checked against the database as it was handed out
    (the conversation's lock keeps other turns out until this save)."""
    known = _known_stored(tracker)
    if known is None:
        return _original_additional_events(self, session, tracker)  # type: ignore[no-any-return]
    return itertools.islice(tracker.events, known, len(tracker.events))


def _as_retrieved(store: SQLTrackerStore, tracker: DialogueStateTracker
                  ) -> DialogueStateTracker:  # fmt: skip
    """The tracker as a retrieve would rebuild it from the database: only the events stamped
    at or after the current session's start. The events a session start sets up are stamped a
    moment before SessionStarted itself, so the first save of a conversation holds two events
    that no retrieve returns; its next turn must not see them either (and Rasa's save counts
    on it: it appends the events past the number the database holds)."""
    starts = [e.timestamp for e in tracker.events if isinstance(e, SessionStarted)]
    if not starts:
        return tracker
    view = [e for e in tracker.events if e.timestamp >= max(starts)]
    if len(view) == len(tracker.events):
        return tracker
    slots = store.domain.slots if store.domain else []
    return DialogueStateTracker.from_dict(tracker.sender_id, [e.as_dict() for e in view], slots)


async def _save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
    known = _known_stored(tracker)
    try:
        await _original_save(self, tracker)
    finally:
        if known is not None:
            delattr(tracker, STORED)
    kept = _as_retrieved(self, tracker)
    with self.session_scope() as session:
        # Keep it only if the database holds exactly as many events of the session (Rasa's own
        # save counts the same way). A cached tracker's save appended every event past the
        # known count, so the database holds all of them, unless a new session started in this
        # turn (then kept is a shorter view and the rows are counted).
        if known is not None and kept is tracker:
            stored = len(tracker.events)
        else:
            stored = self._event_query(
                session, tracker.sender_id, fetch_events_from_all_sessions=False
            ).count()
        last = _last_event_id(self, session, tracker.sender_id)
    if stored == len(kept.events) and last is not None:
        CACHE.keep(self, _Saved(kept, last, stored))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_original_init = SQLTrackerStore.__init__


def _init(self: SQLTrackerStore, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.engine.dialect.name == "sqlite":
        # Every connection the pool opens from now on.
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        # The pool already holds the connection Rasa created the tables with: reopen it.
        self.engine.dispose()


def install() -> None:
    """Called by bot.server before Rasa starts."""
    installed = getattr(rasa, "__version__", "unknown")
    if installed != WRITTEN_FOR:
        raise RuntimeError(
            f"bot/tracker_store.py patches FailSafeTrackerStore, SQLTrackerStore and "
            f"create_engine_kwargs of "
            f"rasa {WRITTEN_FOR}, but rasa {installed} is installed: check them, then update "
            f"WRITTEN_FOR (or drop the patch)."
        )
    FailSafeTrackerStore.on_tracker_store_error = _refuse  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _refuse  # type: ignore[method-assign]
    tracker_store.create_engine_kwargs = create_engine_kwargs
    SQLTrackerStore.__init__ = _init  # type: ignore[method-assign]
    if os.environ.get("DROPDESK_TRACKER_CACHE", "1") != "0":
        SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]
        SQLTrackerStore.save = _save  # type: ignore[method-assign]
        SQLTrackerStore._additional_events = _additional_events  # type: ignore[method-assign]
