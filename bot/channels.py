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

A failed turn leaves nothing behind: its tracker is not saved (see keep_saved_slots), so the
conversation is exactly as it was before the message, and the service may send it again.
A message carries the service's id for it (`message_id`, kept on Rasa's user event); a request
marked `"retry": true` first looks for that id in the tracker and, if the turn did finish
(Rasa died after saving it but before answering), answers with what that turn said instead of
running it twice.

    POST /webhooks/dropdesk/webhook  {..., "message_id": "dd-42", "retry": true}
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
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

    A turn of this channel that logged errors is not saved at all: Rasa carries on after an
    action failed and would keep the merchant's message with the action's events lost, so
    the message sent again would be a second, different turn.
    """
    if getattr(store, "_dropdesk_keeps_slots", False):
        return
    save = store.save

    async def save_and_keep(tracker: Any, *args: Any, **kwargs: Any) -> None:
        if _turn_errors.get():
            log.warning("turn for %s failed: its events are not kept", tracker.sender_id)
            return
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
    """REST-like input channel whose answer carries the replies and the current slots.

    With a `token` in its credentials (docker/credentials.yml: Rasa's own DROPDESK_RASA_TOKEN)
    a request must carry `Authorization: Bearer <token>`, compared in constant time: whoever
    reaches Rasa's port cannot speak as a merchant's session. The network keeps others out too
    (compose networks, NetworkPolicy); the local credentials have no token.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token or None

    @classmethod
    def name(cls) -> str:
        return "dropdesk"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        token = (credentials or {}).get("token")
        return cls(token=str(token) if token else None)

    def _allowed(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())

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
            if not self._allowed(request):
                return response.json({"error": "not authorised"}, status=401)
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                body = None
            body = body if isinstance(body, dict) else {}
            sender_id, text = body.get("sender"), body.get("message")
            if not isinstance(sender_id, str) or not sender_id or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            metadata = body.get("metadata")
            message_id = body.get("message_id")
            message_id = message_id if isinstance(message_id, str) and message_id else None
            store = request.app.ctx.agent.tracker_store
            if message_id is not None and body.get("retry") is True:
                done = await _finished_turn(store, sender_id, message_id)
                if done is not None:
                    log.info("message %s of %s was already taken: its answer again",
                             message_id, sender_id)  # fmt: skip
                    return response.json(done)
            collector = CollectingOutputChannel()
            errors: list[str] = []
            _turn_errors.set(errors)
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
                        message_id=message_id,
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


async def _finished_turn(store: Any, sender_id: str, message_id: str) -> dict[str, Any] | None:
    """The answer of the turn that took message_id, if the tracker has it; else None.

    The replies are the bot's utterances after that user event, up to the next one; the slots
    are the conversation's now (nothing runs between a lost answer and its retry: the service
    sends a session's messages one at a time).
    """
    tracker = await store.retrieve(sender_id)
    if tracker is None:
        return None
    events = list(tracker.events)
    start = next(
        (i for i, e in enumerate(events)
         if isinstance(e, UserUttered) and e.message_id == message_id),
        None,
    )  # fmt: skip
    if start is None:
        return None
    replies: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            # As CollectingOutputChannel words a reply: only the parts that are there.
            data = {k: v for k, v in (event.data or {}).items() if v is not None}
            replies.append({"recipient_id": sender_id, "text": event.text, **data})
    return {"messages": replies, "slots": tracker.current_slot_values()}
