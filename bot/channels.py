"""The channel the DropDesk service talks to: Rasa's REST channel plus the turn's slots.

The service needs both the bot's replies and the evidence the form has gathered (the slots)
after every merchant message. Rasa's REST channel answers with the replies only, which cost a
second request to the tracker endpoint on every turn. This channel answers with both:

    POST /webhooks/dropdesk/webhook  {"sender": ..., "message": ..., "metadata": {...}}
    200 {"messages": [{"text": ..., "buttons": [...]}, ...], "slots": {...}}

It also stops swallowing failures. Rasa logs an action that raised (the action server is down,
slow or broke) and carries on with the turn; the REST channel then answers with whatever was
said, often nothing. This channel notices those errors for its own turn (a context variable
ties each log record to the request that caused it) and answers 503, so the service apologises
and keeps the message for a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)
# Rasa's processor logs (and then swallows) an exception raised while running an action.
PROCESSOR_LOGGER = "rasa.core.processor"
_turn_errors: ContextVar[list[str] | None] = ContextVar("dropdesk_turn_errors", default=None)
# The slots of every tracker the current request's turn saved (see keep_saved_slots).
_saved_slots: ContextVar[list[dict[str, Any]] | None] = ContextVar(
    "dropdesk_saved_slots", default=None
)


def keep_saved_slots(store: Any) -> None:
    """Let a request see the slots its own turn saved, instead of reading the tracker back.

    Reading it back cost a second retrieve per turn (every event deserialised from the tracker
    store: about a tenth of Rasa's time under load, py-spy, bench/load_bench.py), and it could
    already see a later turn of the same conversation. The wrapper is installed once on the
    agent's tracker store (the processor saves through the same object) and records the slots
    only for a request that asked (the context variable is set by this channel's webhook).
    """
    if getattr(store, "_dropdesk_keeps_slots", False):
        return
    save = store.save

    async def save_and_keep(tracker: Any, *args: Any, **kwargs: Any) -> None:
        await save(tracker, *args, **kwargs)
        kept = _saved_slots.get()
        if kept is not None:
            kept.append(tracker.current_slot_values())

    store.save = save_and_keep
    store._dropdesk_keeps_slots = True


class _TurnErrors(logging.Handler):
    """Collect the errors logged while the current request's turn runs."""

    def emit(self, record: logging.LogRecord) -> None:
        errors = _turn_errors.get()
        if errors is not None and record.levelno >= logging.ERROR:
            errors.append(record.getMessage())


_HANDLER = _TurnErrors()


class DropDeskInput(InputChannel):
    """REST-like input channel whose answer carries the replies and the current slots."""

    @classmethod
    def name(cls) -> str:
        return "dropdesk"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("dropdesk_webhook", __name__)
        processor_log = logging.getLogger(PROCESSOR_LOGGER)
        if _HANDLER not in processor_log.handlers:
            processor_log.addHandler(_HANDLER)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                body = None
            body = body if isinstance(body, dict) else {}
            sender_id, text = body.get("sender"), body.get("message")
            if not isinstance(sender_id, str) or not sender_id or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            metadata = body.get("metadata")
            collector = CollectingOutputChannel()
            errors: list[str] = []
            _turn_errors.set(errors)
            store = request.app.ctx.agent.tracker_store
            keep_saved_slots(store)
            saved: list[dict[str, Any]] = []
            _saved_slots.set(saved)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender_id,
                        input_channel=self.name(),
                        metadata=metadata if isinstance(metadata, dict) else None,
                    )
                )
            except Exception:  # the turn broke: say so instead of answering nothing
                log.exception("turn failed for %s", sender_id)
                return response.json({"error": "turn failed"}, status=500)
            if errors:
                log.warning("turn for %s had errors: %s", sender_id, "; ".join(errors))
                return response.json({"error": "turn failed", "details": errors}, status=503)
            if saved:
                slots = saved[-1]
            else:  # the turn saved nothing through this store: read it back
                tracker = await store.retrieve(sender_id)
                slots = tracker.current_slot_values() if tracker is not None else {}
            return response.json({"messages": collector.messages, "slots": slots})

        return hook
