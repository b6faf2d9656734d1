"""A merchant's turn: store, ask the bot, store the replies, publish everything."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dropdesk import messages
from dropdesk.card import mask_pans
from dropdesk.conversation import service
from dropdesk.conversation.models import (
    ChatSession,
    Delivery,
    Message,
    ReplyRead,
    Sender,
    SessionStatus,
    TurnRead,
)
from dropdesk.database.core import session_scope
from dropdesk.dialogue.client import BotClient, BotUnavailableError
from dropdesk.pubsub.broadcast import Broadcast, session_channel

log = logging.getLogger(__name__)
T = TypeVar("T")


class Turns:
    """Runs turns for one process: database URL, bot client and pub/sub."""

    def __init__(self, *, database_url: str, bot: BotClient, broadcast: Broadcast) -> None:
        self.database_url = database_url
        self.bot = bot
        self.broadcast = broadcast

    async def _db(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with session_scope(self.database_url) as db_session:
                return work(db_session)

        return await run_in_threadpool(run)

    async def publish(self, session_id: str, stored: list[Message]) -> None:
        for message in stored:
            payload = service.message_read(message).model_dump_json()
            await self.broadcast.publish(session_channel(session_id), payload)

    async def merchant_says(self, *, session_id: str, merchant_no: str, text: str) -> TurnRead:
        """Store the merchant's message first, then let the bot answer (or apologise)."""
        clean = mask_pans(text.strip())

        def store_inbound(db: Session) -> tuple[Message, str]:
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
            return message, chat.status

        inbound, status = await self._db(store_inbound)
        await self.publish(session_id, [inbound])
        if status != SessionStatus.BOT:
            # An agent has (or will have) the conversation: the bot stays quiet.
            return await self._turn(session_id, merchant_no, [])
        try:
            bot_turn = await self.bot.send(
                session_id=session_id, text=clean, metadata={"merchant_no": merchant_no}
            )
        except BotUnavailableError as exc:
            log.warning("bot unavailable for session %s: %s", session_id, exc)
            return await self._apologise(session_id, merchant_no, inbound.id)

        def store_replies(db: Session) -> tuple[list[Message], TurnRead]:
            chat = service.get(db_session=db, session_id=session_id)
            service.set_delivery(db_session=db, message_id=inbound.id, delivery=Delivery.DELIVERED)
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
            return stored, _turn_read(db, chat, stored)

        # One transaction stores the replies and reads the state the merchant gets back.
        stored, turn = await self._db(store_replies)
        await self.publish(session_id, stored)
        return turn

    async def _apologise(self, session_id: str, merchant_no: str, inbound_id: int) -> TurnRead:
        def store(db: Session) -> list[Message]:
            chat = service.get(db_session=db, session_id=session_id)
            service.set_delivery(db_session=db, message_id=inbound_id, delivery=Delivery.FAILED)
            return [
                service.add_message(
                    db_session=db, chat=chat, sender=Sender.SYSTEM, text=messages.BOT_UNAVAILABLE
                )
            ]

        stored = await self._db(store)
        await self.publish(session_id, stored)
        return await self._turn(session_id, merchant_no, stored)

    async def _turn(self, session_id: str, merchant_no: str, stored: list[Message]) -> TurnRead:
        def read(db: Session) -> TurnRead:
            chat = service.get_for_merchant(
                db_session=db, session_id=session_id, merchant_no=merchant_no
            )
            return _turn_read(db, chat, stored)

        return await self._db(read)


def _turn_read(db: Session, chat: ChatSession, stored: list[Message]) -> TurnRead:
    return TurnRead(
        messages=[
            ReplyRead.model_validate({"text": m.text, "buttons": m.buttons or []}) for m in stored
        ],
        session=service.state(db_session=db, chat=chat),
    )
