"""Outbound: typed events on pub/sub, and one channel-neutral path to the merchant.

Channels of pub/sub (any backend, memory:// or redis://):
- session:<id>         what the merchant may see: {"type": "message"} and {"type": "status"}
- session-agents:<id>  what only agents see: {"type": "note"}
- queue                {"type": "queue"}: a session entered, left or moved in the human queue
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from dropdesk.conversation.models import MessageRead
from dropdesk.pubsub.broadcast import Broadcast, session_channel

log = logging.getLogger(__name__)
QUEUE_CHANNEL = "queue"


def agents_channel(session_id: str) -> str:
    """The channel for events about a session that only agents may see."""
    return f"session-agents:{session_id}"


def message_event(message: MessageRead) -> str:
    return f'{{"type":"message","message":{message.model_dump_json()}}}'


def status_event(session_id: str, status: str, **extra: Any) -> str:
    return json.dumps(
        {"type": "status", "session_id": session_id, "status": status, **extra}, ensure_ascii=False
    )


def queue_event(session_id: str, status: str) -> str:
    return json.dumps({"type": "queue", "session_id": session_id, "status": status})


def note_event(note: dict[str, Any]) -> str:
    return json.dumps({"type": "note", "note": note}, ensure_ascii=False, default=str)


class ChannelSender(Protocol):
    """Pushes a message to the merchant on one channel (WeChat's customer-service API, say)."""

    async def send(self, *, session_id: str, message: MessageRead) -> None: ...


class Outbox:
    """The one way a message reaches the merchant, whatever channel they came from."""

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        # Channels whose merchants are not on a live socket register a sender here.
        self.senders: dict[str, ChannelSender] = {}

    async def publish(self, channel: str, event: str) -> None:
        """Publish, or log when pub/sub (Redis) is down: the message is already in the
        transcript, and a viewer whose live channel broke fetches it when it reconnects. A
        merchant's turn never fails for want of a live viewer."""
        try:
            await self.broadcast.publish(channel, event)
        except Exception as exc:
            log.warning("live channel %s not told (pub/sub down?): %r", channel, exc)

    async def deliver(self, *, session_id: str, channel: str, message: MessageRead) -> None:
        """Publish to the session's viewers, then push on the merchant's own channel."""
        await self.publish(session_channel(session_id), message_event(message))
        sender = self.senders.get(channel)
        if sender is not None and message.sender != "merchant":
            try:
                await sender.send(session_id=session_id, message=message)
            except Exception:  # the transcript keeps it; the channel's own retry policy applies
                log.exception("delivery on channel %s failed for session %s", channel, session_id)

    async def status(self, session_id: str, status: str, **extra: Any) -> None:
        await self.publish(session_channel(session_id), status_event(session_id, status, **extra))
        await self.publish(QUEUE_CHANNEL, queue_event(session_id, status))

    async def note(self, session_id: str, note: dict[str, Any]) -> None:
        await self.publish(agents_channel(session_id), note_event(note))
