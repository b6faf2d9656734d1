"""A merchant's turn: store, then the bot answers, or the queue reminds, or the agent reads."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.card import mask_pans
from dropdesk.config import Settings
from dropdesk.conversation import service
from dropdesk.conversation.delivery import Outbox
from dropdesk.conversation.models import (
    ChatSession,
    Delivery,
    Message,
    ReplyRead,
    Sender,
    SessionStatus,
    TurnRead,
)
from dropdesk.database.core import run_in_session
from dropdesk.dialogue.client import BotClient, BotUnavailableError
from dropdesk.errors import NotFoundError
from dropdesk.handoff import service as handoff_service
from dropdesk.ticket import service as ticket_service
from dropdesk.timezone import now_shanghai

log = logging.getLogger(__name__)
T = TypeVar("T")
# The payload of the rating buttons sent when an agent resolves a ticket.
RATING = re.compile(r"^/rate_service\{\"rating\":\s*\"?([1-5])\"?\}$")


def rating_buttons() -> list[dict[str, str]]:
    return [
        {"title": title, "payload": f'/rate_service{{"rating":"{score}"}}'}
        for score, title in messages.RATE_BUTTON_TITLES.items()
    ]


class Turns:
    """Runs turns for one process: database URL, bot client, outbound delivery."""

    def __init__(
        self,
        *,
        settings: Settings,
        bot: BotClient,
        outbox: Outbox,
        clock: Callable[[], dt.datetime] = now_shanghai,
    ) -> None:
        self.settings = settings
        self.database_url = settings.database_url
        self.bot = bot
        self.outbox = outbox
        self.clock = clock

    async def db(self, work: Callable[[Session], T]) -> T:
        """Run work in its own session on a worker thread (handoffs and attachments use it too)."""
        return await run_in_session(self.database_url, work)

    async def deliver(self, chat_channel: str, stored: list[Message]) -> None:
        for message in stored:
            await self.outbox.deliver(
                session_id=message.session_id,
                channel=chat_channel,
                message=service.message_read(message),
            )

    async def merchant_says(self, *, session_id: str, merchant_no: str, text: str) -> TurnRead:
        """Store the merchant's message first; then whoever holds the session answers."""
        clean = mask_pans(text.strip())
        now = self.clock()

        def store_inbound(db: Session) -> tuple[Message, str, str]:
            chat = service.get_for_merchant(
                db_session=db, session_id=session_id, merchant_no=merchant_no
            )
            message = service.add_message(
                db_session=db,
                chat=chat,
                sender=Sender.MERCHANT,
                text=clean,
                delivery=Delivery.PENDING if chat.status == SessionStatus.BOT else None,
            )
            handoff_service.merchant_waits(db_session=db, chat=chat, now=now)
            return message, chat.status, chat.channel

        inbound, status, channel = await self.db(store_inbound)
        await self.deliver(channel, [inbound])
        rating = RATING.match(clean)
        if rating:
            return await self._rate(session_id, merchant_no, channel, int(rating.group(1)))
        if status == SessionStatus.QUEUED:
            return await self._remind_queued(session_id, merchant_no, channel)
        if status != SessionStatus.BOT:
            # A person has the conversation: the bot stays quiet, the agent sees it live.
            return await self._turn(session_id, merchant_no, [])
        return await self._ask_bot(session_id, merchant_no, channel, clean, inbound.id)

    async def _ask_bot(
        self, session_id: str, merchant_no: str, channel: str, text: str, inbound_id: int
    ) -> TurnRead:
        try:
            bot_turn = await self.bot.send(
                session_id=session_id, text=text, metadata={"merchant_no": merchant_no}
            )
        except BotUnavailableError as exc:
            log.warning("bot unavailable for session %s: %s", session_id, exc)
            return await self._apologise(session_id, merchant_no, channel, inbound_id)

        def store_replies(db: Session) -> tuple[list[Message], TurnRead, str]:
            chat = service.get(db_session=db, session_id=session_id)
            service.set_delivery(db_session=db, message_id=inbound_id, delivery=Delivery.DELIVERED)
            service.record_slots(db_session=db, chat=chat, slots=bot_turn.slots)
            stored = [
                service.add_message(
                    db_session=db,
                    chat=chat,
                    sender=Sender.BOT,
                    text=reply.text,
                    buttons=[{"title": b.title, "payload": b.payload} for b in reply.buttons],
                )
                for reply in bot_turn.replies
                if reply.text or reply.buttons
            ]
            return stored, _turn_read(db, chat, stored), chat.status

        # One transaction stores the replies and reads the state the merchant gets back.
        stored, turn, status_after = await self.db(store_replies)
        await self.deliver(channel, stored)
        if status_after == SessionStatus.QUEUED:
            # The bot escalated during this turn: agents' queues update now.
            await self.outbox.status(session_id, status_after, ticket_no=turn.session.ticket_no)
        return turn

    async def _remind_queued(self, session_id: str, merchant_no: str, channel: str) -> TurnRead:
        """While a session waits for a person, every message gets the ticket and the queue."""
        now = self.clock()

        def store(db: Session) -> list[Message]:
            chat = service.get(db_session=db, session_id=session_id)
            ticket = ticket_service.open_for_session(db_session=db, session_id=session_id)
            if ticket is None:
                return []
            position = handoff_service.queue_position(db_session=db, session_id=session_id) or 1
            if handoff_service.is_open(self.settings, now):
                text = messages.QUEUED_REMINDER.format(
                    ticket_no=ticket.ticket_no,
                    position=position,
                    wait=handoff_service.expected_wait_minutes(self.settings, position),
                )
            else:
                opening = handoff_service.next_opening(self.settings, now)
                text = messages.QUEUED_OFFLINE.format(
                    ticket_no=ticket.ticket_no,
                    opening=handoff_service.describe_opening(opening, now),
                )
            return [service.add_message(db_session=db, chat=chat, sender=Sender.SYSTEM, text=text)]

        stored = await self.db(store)
        await self.deliver(channel, stored)
        return await self._turn(session_id, merchant_no, stored)

    async def _rate(self, session_id: str, merchant_no: str, channel: str, score: int) -> TurnRead:
        now = self.clock()

        def store(db: Session) -> list[Message]:
            chat = service.get(db_session=db, session_id=session_id)
            try:
                ticket_service.rate(db_session=db, session_id=session_id, rating=score, now=now)
                text = messages.RATE_THANKS
            except NotFoundError:
                text = messages.NOTHING_TO_RATE
            return [service.add_message(db_session=db, chat=chat, sender=Sender.SYSTEM, text=text)]

        stored = await self.db(store)
        await self.deliver(channel, stored)
        return await self._turn(session_id, merchant_no, stored)

    async def _apologise(
        self, session_id: str, merchant_no: str, channel: str, inbound_id: int
    ) -> TurnRead:
        def store(db: Session) -> list[Message]:
            chat = service.get(db_session=db, session_id=session_id)
            service.set_delivery(db_session=db, message_id=inbound_id, delivery=Delivery.FAILED)
            return [
                service.add_message(
                    db_session=db, chat=chat, sender=Sender.SYSTEM, text=messages.BOT_UNAVAILABLE
                )
            ]

        stored = await self.db(store)
        await self.deliver(channel, stored)
        return await self._turn(session_id, merchant_no, stored)

    async def _turn(self, session_id: str, merchant_no: str, stored: list[Message]) -> TurnRead:
        def read(db: Session) -> TurnRead:
            chat = service.get_for_merchant(
                db_session=db, session_id=session_id, merchant_no=merchant_no
            )
            return _turn_read(db, chat, stored)

        return await self.db(read)


def _turn_read(db: Session, chat: ChatSession, stored: list[Message]) -> TurnRead:
    return TurnRead(
        messages=[
            ReplyRead.model_validate({"text": m.text, "buttons": m.buttons or []}) for m in stored
        ],
        session=service.state(db_session=db, chat=chat),
    )
