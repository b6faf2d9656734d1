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
  database is untouched.
"""

from __future__ import annotations

import logging
from typing import Any

import rasa
from rasa.core import tracker_store
from rasa.core.tracker_store import FailSafeTrackerStore

log = logging.getLogger(__name__)
# The Rasa release whose FailSafeTrackerStore and create_engine_kwargs this was read against.
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
    """Rasa's engine arguments, plus a liveness check of each pooled connection on checkout."""
    kwargs: dict[str, Any] = dict(_original_engine_kwargs(url))
    kwargs["pool_pre_ping"] = True
    return kwargs


def install() -> None:
    """Called by bot.server before Rasa starts."""
    installed = getattr(rasa, "__version__", "unknown")
    if installed != WRITTEN_FOR:
        raise RuntimeError(
            f"bot/tracker_store.py patches FailSafeTrackerStore and create_engine_kwargs of "
            f"rasa {WRITTEN_FOR}, but rasa {installed} is installed: check them, then update "
            f"WRITTEN_FOR (or drop the patch)."
        )
    FailSafeTrackerStore.on_tracker_store_error = _refuse  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _refuse  # type: ignore[method-assign]
    tracker_store.create_engine_kwargs = create_engine_kwargs
