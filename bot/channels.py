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
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
            slots = tracker.current_slot_values() if tracker is not None else {}
            return response.json({"messages": collector.messages, "slots": slots})

        return hook
