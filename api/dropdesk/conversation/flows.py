"""A merchant's turn: store, then the bot answers, or the queue reminds, or the agent reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.card import mask_pans
from dropdesk.config import Settings
from dropdesk.conversation import service
from dropdesk.conversation.delivery import Outbox
from dropdesk.conversation.models import (
    ChatRequest,
    ChatSession,
    Delivery,
    Message,
    ReplyRead,
    RequestState,
    Sender,
    SessionStatus,
    TurnRead,
)
from dropdesk.database.core import run_in_session
from dropdesk.dialogue.client import BotClient, BotUnavailableError
from dropdesk.errors import NotFoundError
from dropdesk.handoff import service as handoff_service
from dropdesk.ticket import service as ticket_service
from dropdesk.ticket.models import COMMENT_WINDOW, RATING_PAYLOAD
from dropdesk.timezone import now_shanghai

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        # Turns still with the bot after the merchant's request has been answered.
        self._background: set[asyncio.Task[Any]] = set()
        # Keyed requests this process watches for a take-over (session id, client key).
        self._watching: set[tuple[str, str]] = set()
        # Called with (session id, merchant no, channel, attachment id, message id, bytes) when
        # a merchant sends a photo while the bot holds the session (dropdesk.slip.flows).
        self.on_photo: Callable[[str, str, str, int, int, bytes], None] | None = None

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

    async def merchant_says(
        self, *, session_id: str, merchant_no: str, text: str, client_key: str | None = None
    ) -> TurnRead:
        """Store the merchant's message first; then whoever holds the session answers.

        With a client_key (the Idempotency-Key header or client_message_id), a message is
        taken once: a retry with the same key gets the first answer back, waiting for it while
        the first is still running, and the turn never runs twice.
        """
        clean = mask_pans(text.strip())
        now = self.clock()
        rating = RATING_PAYLOAD.match(clean)

        def store_inbound(db: Session) -> tuple[Message, str, str, int | None, bool] | None:
            chat = service.get_for_merchant(
                db_session=db, session_id=session_id, merchant_no=merchant_no
            )
            request = None
            if client_key is not None:
                # The unique key decides: a concurrent second insert waits, then fails.
                request = ChatRequest(session_id=session_id, client_key=client_key,
                                      state=RequestState.RUNNING, created_at=now,
                                      updated_at=now)  # fmt: skip
                db.add(request)
                try:
                    db.flush()
                except IntegrityError:
                    db.rollback()
                    return None
            # Right after a rating, the merchant's next message is its comment, not the bot's.
            comment = (chat.status == SessionStatus.BOT and not rating and ticket_service
                       .take_comment(db_session=db, session_id=session_id, text=clean, now=now,
                                     window=COMMENT_WINDOW) is not None)  # fmt: skip
            to_bot = chat.status == SessionStatus.BOT and not comment
            message = service.add_message(
                db_session=db,
                chat=chat,
                sender=Sender.MERCHANT,
                text=clean,
                delivery=Delivery.PENDING if to_bot else None,
            )
            if request is not None:
                request.message_id = message.id
            handoff_service.merchant_waits(db_session=db, chat=chat, now=now)
            return message, chat.status, chat.channel, request.id if request else None, comment

        stored = await self.db(store_inbound)
        if stored is None:
            return await self._replay(session_id, merchant_no, client_key or "")
        inbound, status, channel, request_id, comment = stored
        await self.deliver(channel, [inbound])
        if rating:
            turn = await self._rate(session_id, merchant_no, channel, int(rating.group(1)))
        elif comment:
            turn = await self._thank_for_comment(session_id, merchant_no, channel)
        elif status == SessionStatus.QUEUED:
            turn = await self._remind_queued(session_id, merchant_no, channel)
        elif status != SessionStatus.BOT:
            # A person has the conversation: the bot stays quiet, the agent sees it live.
            turn = await self._turn(session_id, merchant_no, [])
        else:
            return await self._ask_bot(
                session_id, merchant_no, channel, clean, inbound.id, request_id
            )
        if request_id is not None:
            await self.db(lambda db: _answered(db, request_id, turn, RequestState.DONE))
        return turn

    async def _replay(self, session_id: str, merchant_no: str, client_key: str) -> TurnRead:
        """A retry of a message already taken: the first answer, once there is one.

        While the first is still with the bot this waits as long as the first request waits
        (then answers as the first did: the reply is on its way). A first request whose
        process died (nothing heard for longer than a turn may take) is taken over: the stored
        message goes to the bot, once.
        """
        wait = self.settings.rasa_timeout_seconds + 2.0
        deadline = asyncio.get_running_loop().time() + wait
        read = partial(
            _read_request, session_id=session_id, merchant_no=merchant_no, client_key=client_key
        )
        while True:
            request = await self.db(read)
            if request.response is not None:
                return TurnRead.model_validate(request.response)
            taken = await self._take_over_if_stalled(session_id, merchant_no, request)
            if taken is not None:
                return taken
            if asyncio.get_running_loop().time() >= deadline:
                # The merchant is told the answer is on its way: make sure it comes, even if
                # the first request's process died and nobody retries again.
                self._watch(session_id, merchant_no, client_key)
                return await self._turn(session_id, merchant_no, [], on_its_way=True)
            await asyncio.sleep(0.1)

    async def _take_over_if_stalled(
        self, session_id: str, merchant_no: str, request: ChatRequest
    ) -> TurnRead | None:
        """Run a request's turn here if its process has been silent longer than a turn may take
        (it died); None if it is not stalled, or another process took it first."""
        stale = dt.timedelta(seconds=self.settings.rasa_turn_limit_seconds + 10.0)
        now = self.clock()
        if request.state != RequestState.RUNNING or request.message_id is None:
            return None
        if request.updated_at >= now - stale:
            return None
        taken = await self.db(partial(_take_over, request=request, now=now))
        if taken is None:
            return None
        log.warning("taking over the stalled turn of request %s", request.id)
        return await self._resume(session_id, merchant_no, request, taken)

    def in_background(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run a coroutine past the request that started it; drain() waits for it too."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _watch(self, session_id: str, merchant_no: str, client_key: str) -> None:
        """In the background, until the request has its answer: take its turn over once its
        process has been silent too long. The answer then reaches the merchant live."""
        watched = (session_id, client_key)
        if watched in self._watching:
            return
        self._watching.add(watched)
        limit = self.settings.rasa_turn_limit_seconds * 2 + 30.0
        read = partial(
            _read_request, session_id=session_id, merchant_no=merchant_no, client_key=client_key
        )

        async def watch() -> None:
            loop = asyncio.get_running_loop()
            give_up = loop.time() + limit
            try:
                while loop.time() < give_up:
                    await asyncio.sleep(1.0)
                    request = await self.db(read)
                    if request.response is not None or request.state != RequestState.RUNNING:
                        return
                    if await self._take_over_if_stalled(session_id, merchant_no, request):
                        return
            except Exception:  # the database is down, say: a later retry takes it over
                log.exception("watching request %s of session %s failed", client_key, session_id)
            finally:
                self._watching.discard(watched)

        self.in_background(watch())

    async def _resume(
        self, session_id: str, merchant_no: str, request: ChatRequest, message: Message
    ) -> TurnRead:
        chat_channel = await self.db(
            lambda db: service.get(db_session=db, session_id=session_id).channel
        )
        return await self._ask_bot(
            session_id, merchant_no, chat_channel, message.text, message.id, request.id,
            resend=True,
        )

    async def ask_bot_about(
        self,
        *,
        session_id: str,
        merchant_no: str,
        channel: str,
        text: str,
        inbound_id: int,
        metadata: dict[str, Any],
    ) -> TurnRead:
        """A bot turn about a merchant message already stored (inbound_id) that is not text,
        such as a photo the service has read: `text` is what Rasa hears (an intent payload),
        `metadata` what its actions need. The replies are stored and delivered live."""
        return await self._ask_bot(
            session_id, merchant_no, channel, text, inbound_id, metadata=metadata
        )

    async def _ask_bot(
        self,
        session_id: str,
        merchant_no: str,
        channel: str,
        text: str,
        inbound_id: int,
        request_id: int | None = None,
        resend: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> TurnRead:
        """The bot's turn, waited for up to rasa_timeout_seconds.

        A turn that takes longer goes on in the background: the merchant is told the answer
        is on its way, and the replies are stored and delivered live when the bot has them.
        """
        order = asyncio.Lock()  # "on its way" and the replies are stored one after the other
        task = self.in_background(
            self._bot_turn(
                session_id, merchant_no, channel, text, inbound_id, request_id, order, resend,
                metadata,
            )
        )
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.settings.rasa_timeout_seconds)
        except TimeoutError:
            pass
        async with order:
            if task.done():  # the replies were being stored as the wait ran out
                return task.result()

            def store(db: Session) -> tuple[list[Message], TurnRead]:
                chat = service.get(db_session=db, session_id=session_id)
                stored = [service.add_message(db_session=db, chat=chat, sender=Sender.SYSTEM,
                                              text=messages.BOT_ON_ITS_WAY)]  # fmt: skip
                turn = _turn_read(db, chat, stored)
                if request_id is not None:
                    _answered(db, request_id, turn, RequestState.LATE)
                return stored, turn

            log.info("bot slower than %ss for session %s: answer follows",
                     self.settings.rasa_timeout_seconds, session_id)  # fmt: skip
            stored, turn = await self.db(store)
            await self.deliver(channel, stored)
            return turn

    async def _bot_turn(
        self,
        session_id: str,
        merchant_no: str,
        channel: str,
        text: str,
        inbound_id: int,
        request_id: int | None,
        order: asyncio.Lock,
        resend: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> TurnRead:
        try:
            # The stored message's id makes the turn happen once in Rasa, however many
            # times it is sent (the client retries; a take-over resends).
            bot_turn = await self.bot.send(
                session_id=session_id,
                text=text,
                metadata={**(metadata or {}), "merchant_no": merchant_no},
                message_id=f"dd-{inbound_id}",
                resend=resend,
            )
        except BotUnavailableError as exc:
            log.warning("bot unavailable for session %s: %s", session_id, exc)
            async with order:
                return await self._apologise(
                    session_id, merchant_no, channel, inbound_id, request_id
                )

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
            turn = _turn_read(db, chat, stored)
            if request_id is not None:  # in the same transaction: answered exactly once
                _answered(db, request_id, turn, RequestState.DONE)
            return stored, turn, chat.status

        async with order:
            # One transaction stores the replies and reads the state the merchant gets back.
            stored, turn, status_after = await self.db(store_replies)
            await self.deliver(channel, stored)
        if status_after == SessionStatus.QUEUED:
            # The bot escalated during this turn: agents' queues update now.
            await self.outbox.status(session_id, status_after, ticket_no=turn.session.ticket_no)
        return turn

    async def drain(self, timeout: float) -> None:
        """Wait (up to timeout) for turns still with the bot, so their replies are kept."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout)

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

    async def _thank_for_comment(self, session_id: str, merchant_no: str, channel: str
                                 ) -> TurnRead:  # fmt: skip
        """The comment is on the ticket: say so; the bot never hears it."""

        def store(db: Session) -> list[Message]:
            chat = service.get(db_session=db, session_id=session_id)
            return [service.add_message(db_session=db, chat=chat, sender=Sender.SYSTEM,
                                        text=messages.RATE_COMMENT_THANKS)]  # fmt: skip

        stored = await self.db(store)
        await self.deliver(channel, stored)
        return await self._turn(session_id, merchant_no, stored)

    async def _apologise(
        self,
        session_id: str,
        merchant_no: str,
        channel: str,
        inbound_id: int,
        request_id: int | None = None,
    ) -> TurnRead:
        def store(db: Session) -> tuple[list[Message], TurnRead]:
            chat = service.get(db_session=db, session_id=session_id)
            service.set_delivery(db_session=db, message_id=inbound_id, delivery=Delivery.FAILED)
            stored = [
                service.add_message(
                    db_session=db, chat=chat, sender=Sender.SYSTEM, text=messages.BOT_UNAVAILABLE
                )
            ]
            turn = _turn_read(db, chat, stored)
            if request_id is not None:
                _answered(db, request_id, turn, RequestState.DONE)
            return stored, turn

        stored, turn = await self.db(store)
        await self.deliver(channel, stored)
        return turn

    async def _turn(
        self, session_id: str, merchant_no: str, stored: list[Message], on_its_way: bool = False
    ) -> TurnRead:
        def read(db: Session) -> TurnRead:
            chat = service.get_for_merchant(
                db_session=db, session_id=session_id, merchant_no=merchant_no
            )
            turn = _turn_read(db, chat, stored)
            if on_its_way:
                turn.messages.append(ReplyRead(text=messages.BOT_ON_ITS_WAY))
            return turn

        return await self.db(read)


def _turn_read(db: Session, chat: ChatSession, stored: list[Message]) -> TurnRead:
    return TurnRead(
        messages=[
            ReplyRead.model_validate({"text": m.text, "buttons": m.buttons or []}) for m in stored
        ],
        session=service.state(db_session=db, chat=chat),
    )


def _answered(db: Session, request_id: int, turn: TurnRead, state: RequestState) -> None:
    """Keep what a keyed request answered; a retry with its key gets exactly this back."""
    db.execute(
        update(ChatRequest)
        .where(ChatRequest.id == request_id)
        .values(state=state, response=turn.model_dump(mode="json"), updated_at=_utcnow())
    )


def _read_request(
    db: Session, *, session_id: str, merchant_no: str, client_key: str
) -> ChatRequest:
    service.get_for_merchant(db_session=db, session_id=session_id, merchant_no=merchant_no)
    return db.scalars(
        select(ChatRequest).where(
            ChatRequest.session_id == session_id, ChatRequest.client_key == client_key
        )
    ).one()


def _take_over(db: Session, *, request: ChatRequest, now: dt.datetime) -> Message | None:
    """Claim a stalled request (its process died mid-turn); None if someone else moved it."""
    done = db.execute(
        update(ChatRequest)
        .where(
            ChatRequest.id == request.id,
            ChatRequest.state == RequestState.RUNNING,
            ChatRequest.updated_at == request.updated_at,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.get(Message, request.message_id) if request.message_id is not None else None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
