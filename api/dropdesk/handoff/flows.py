"""Agents act on sessions: the change of hands, what the merchant is told, who is notified."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from dropdesk import messages
from dropdesk.agent.models import Agent
from dropdesk.config import Settings
from dropdesk.conversation import service as conversation_service
from dropdesk.conversation.delivery import Outbox
from dropdesk.conversation.flows import Turns, rating_buttons
from dropdesk.conversation.models import ChatSession, Message, MessageRead, Sender, SessionStatus
from dropdesk.errors import ConflictError
from dropdesk.handoff import service
from dropdesk.handoff.models import NoteRead
from dropdesk.ticket.models import Ticket
from dropdesk.timezone import SHANGHAI, now_shanghai

log = logging.getLogger(__name__)
T = TypeVar("T")
# What the merchant is told: a text and, optionally, buttons.
Told = tuple[str, list[dict[str, str]] | None]


class Handoffs:
    """Claim, release, reassign, reply, note, hand back, resolve; and the silence sweep."""

    def __init__(
        self,
        *,
        settings: Settings,
        turns: Turns,
        outbox: Outbox,
        clock: Callable[[], dt.datetime] = now_shanghai,
    ) -> None:
        self.settings = settings
        self.turns = turns
        self.outbox = outbox
        self.clock = clock

    def _tell(
        self, db: Session, chat: ChatSession, text: str, buttons: list[dict[str, str]] | None = None
    ) -> Message:
        return conversation_service.add_message(
            db_session=db, chat=chat, sender=Sender.SYSTEM, text=text, buttons=buttons
        )

    async def _announce(
        self,
        chat_channel: str,
        session_id: str,
        stored: list[Message],
        status: str,
        **extra: object,
    ) -> None:
        await self.turns.deliver(chat_channel, stored)
        await self.outbox.status(session_id, status, **extra)

    async def claim(self, session_id: str, agent: Agent) -> Ticket:
        now = self.clock()

        def work(db: Session) -> tuple[Ticket, ChatSession, Message]:
            ticket = service.claim(db_session=db, session_id=session_id, agent=agent, now=now)
            chat = conversation_service.get(db_session=db, session_id=session_id)
            told = self._tell(db, chat, messages.AGENT_JOINED.format(agent=agent.name))
            return ticket, chat, told

        ticket, chat, told = await self.turns.db(work)
        await self._announce(
            chat.channel, session_id, [told], SessionStatus.AGENT, agent=agent.name
        )
        return ticket

    async def release(self, session_id: str, agent: Agent) -> Ticket:
        now = self.clock()

        def work(db: Session) -> tuple[Ticket, ChatSession, Message]:
            ticket = service.release(db_session=db, session_id=session_id, agent=agent, now=now)
            chat = conversation_service.get(db_session=db, session_id=session_id)
            position = service.queue_position(db_session=db, session_id=session_id) or 1
            told = self._tell(
                db,
                chat,
                messages.AGENT_RELEASED.format(
                    agent=agent.name, ticket_no=ticket.ticket_no, position=position
                ),
            )
            return ticket, chat, told

        ticket, chat, told = await self.turns.db(work)
        await self._announce(chat.channel, session_id, [told], SessionStatus.QUEUED)
        return ticket

    async def reassign(self, session_id: str, supervisor: Agent, to_agent: str) -> Ticket:
        now = self.clock()

        def work(db: Session) -> tuple[Ticket, ChatSession, Message, str]:
            ticket, target = service.reassign(
                db_session=db,
                session_id=session_id,
                supervisor=supervisor,
                to_agent=to_agent,
                now=now,
            )
            chat = conversation_service.get(db_session=db, session_id=session_id)
            told = self._tell(db, chat, messages.AGENT_REASSIGNED.format(agent=target.name))
            return ticket, chat, told, target.name

        ticket, chat, told, name = await self.turns.db(work)
        await self._announce(chat.channel, session_id, [told], SessionStatus.AGENT, agent=name)
        return ticket

    async def reply(self, session_id: str, agent: Agent, text: str) -> MessageRead:
        now = self.clock()

        def work(db: Session) -> tuple[Message, str]:
            message = service.agent_message(
                db_session=db, session_id=session_id, agent=agent, text=text, now=now
            )
            chat = conversation_service.get(db_session=db, session_id=session_id)
            return message, chat.channel

        message, channel = await self.turns.db(work)
        read = conversation_service.message_read(message, agent_name=agent.name)
        await self.outbox.deliver(session_id=session_id, channel=channel, message=read)
        return read

    async def note(self, session_id: str, agent: Agent, text: str) -> NoteRead:
        now = self.clock()

        def work(db: Session) -> NoteRead:
            note = service.add_note(
                db_session=db, session_id=session_id, agent=agent, text=text, now=now
            )
            return NoteRead(
                id=note.id,
                agent=agent.name,
                text=note.text,
                created_at=note.created_at.astimezone(SHANGHAI),
            )

        read = await self.turns.db(work)
        await self.outbox.note(session_id, read.model_dump(mode="json"))
        return read

    async def hand_back(self, session_id: str, agent: Agent) -> None:
        """Reset the bot's memory of the conversation, give it back, and greet the merchant."""

        def change(db: Session, now: dt.datetime) -> tuple[None, list[Told]]:
            service.hand_back(db_session=db, session_id=session_id, agent=agent, now=now)
            return None, [(messages.HANDED_BACK, None)]

        _, chat = await self._back_to_bot(session_id, agent, change)
        await self._greet(session_id, chat)

    async def resolve(self, session_id: str, agent: Agent, resolution: str, note: str) -> Ticket:
        """Resolve the ticket, give the session back to the bot and ask for a rating."""

        def change(db: Session, now: dt.datetime) -> tuple[Ticket, list[Told]]:
            ticket = service.resolve(db_session=db, session_id=session_id, agent=agent,
                                     resolution=resolution, note=note, now=now)  # fmt: skip
            summary = note or messages.RESOLUTION_TEXT[resolution]
            return ticket, [
                (messages.RESOLVED.format(ticket_no=ticket.ticket_no, note=summary), None),
                (messages.RATE_PROMPT, rating_buttons()),
            ]

        ticket, _ = await self._back_to_bot(session_id, agent, change)
        return ticket

    async def _back_to_bot(
        self,
        session_id: str,
        agent: Agent,
        change: Callable[[Session, dt.datetime], tuple[T, list[Told]]],
    ) -> tuple[T, ChatSession]:
        """Reset Rasa's tracker, make the change of hands, clear the evidence, tell the merchant.

        The reset comes first: if Rasa cannot be reached nothing changes (503), and a reset
        followed by a refused change (409) is harmless while a person holds the session.
        """
        await self.turns.db(
            lambda db: service.held_session(db_session=db, session_id=session_id, agent=agent)
        )
        await self.turns.bot.reset(session_id=session_id)
        now = self.clock()

        def work(db: Session) -> tuple[T, ChatSession, list[Message]]:
            result, told = change(db, now)
            chat = conversation_service.get(db_session=db, session_id=session_id)
            conversation_service.record_slots(db_session=db, chat=chat, slots={})
            return result, chat, [self._tell(db, chat, text, buttons) for text, buttons in told]

        result, chat, told = await self.turns.db(work)
        await self._announce(chat.channel, session_id, told, SessionStatus.BOT)
        return result, chat

    async def _greet(self, session_id: str, chat: ChatSession) -> None:
        """The bot's own greeting, as if the merchant had just arrived."""
        try:
            turn = await self.turns.bot.send(session_id=session_id, text="/greet", metadata={})
        except Exception as exc:  # the hand-back stands; the merchant's next message reaches Rasa
            log.warning("greeting after hand-back failed for %s: %r", session_id, exc)
            return

        def work(db: Session) -> list[Message]:
            fresh = conversation_service.get(db_session=db, session_id=session_id)
            return [
                conversation_service.add_message(
                    db_session=db, chat=fresh, sender=Sender.BOT, text=reply.text
                )
                for reply in turn.replies
                if reply.text
            ]

        await self.turns.deliver(chat.channel, await self.turns.db(work))

    async def sweep_silent(self) -> list[str]:
        """Requeue every session whose agent left the merchant waiting too long."""
        now = self.clock()
        due = await self.turns.db(
            lambda db: service.silent_sessions(db_session=db, settings=self.settings, now=now)
        )
        moved = []
        for session_id in due:

            def work(db: Session, session_id: str = session_id) -> tuple[ChatSession, Message]:
                ticket = service.requeue_silent(
                    db_session=db, session_id=session_id, settings=self.settings, now=now
                )
                chat = conversation_service.get(db_session=db, session_id=session_id)
                position = service.queue_position(db_session=db, session_id=session_id) or 1
                return chat, self._tell(
                    db,
                    chat,
                    messages.AGENT_SILENT.format(ticket_no=ticket.ticket_no, position=position),
                )

            try:
                chat, told = await self.turns.db(work)
            except ConflictError:  # the agent spoke, or another replica requeued it first
                continue
            await self._announce(chat.channel, session_id, [told], SessionStatus.QUEUED)
            moved.append(session_id)
        return moved

    async def purge_requests(self) -> int:
        """Forget the idempotency keys answered longer ago than request_keep_hours."""
        before = self.clock() - dt.timedelta(hours=self.settings.request_keep_hours)
        return await self.turns.db(
            lambda db: conversation_service.purge_requests(db_session=db, before=before)
        )

    async def run_sweeper(self) -> None:
        """Sweep forever at the configured interval (a task of the app's lifespan); once an
        hour, also forget old idempotency keys (every replica may: the delete is idempotent)."""
        loop = asyncio.get_running_loop()
        purge_due = loop.time()
        while True:
            await asyncio.sleep(self.settings.sweep_interval_seconds)
            try:
                moved = await self.sweep_silent()
                if loop.time() >= purge_due:
                    purge_due = loop.time() + 3600
                    if purged := await self.purge_requests():
                        log.info("forgot %d answered idempotency key(s)", purged)
            except Exception:  # a database hiccup must not end the sweeper
                log.exception("silence sweep failed")
                continue
            if moved:
                log.info("requeued %d session(s) after agent silence", len(moved))
