"""The WeChat channel: each push claimed once, answered passively within the deadline or
through the customer-service API once ready; and the Outbox sender for agents' messages."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from dropdesk import messages, metrics
from dropdesk.attachment import flows as attachment_flows
from dropdesk.config import Settings
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.models import MessageRead
from dropdesk.dialogue.client import BotUnavailableError
from dropdesk.errors import InvalidInputError, RequestTooLargeError
from dropdesk.wechat import service
from dropdesk.wechat.client import UNREACHABLE, WeChatAPI, WeChatError
from dropdesk.wechat.compose import Reply
from dropdesk.wechat.dedupe import DatabaseDedupe, Dedupe, RedisDedupe, wait_outcome
from dropdesk.wechat.guest import GuestAnswers
from dropdesk.wechat.menu import CLICK_TEXT, Click
from dropdesk.wechat.models import DeliveryStatus, Follower, InboundState
from dropdesk.wechat.token import DatabaseTokenStore, RedisTokenStore, TokenStore
from dropdesk.wechat.xml import Inbound

log = logging.getLogger(__name__)
BIND = re.compile(r"^\s*绑定\s*[:：]?\s*(\d{6})\s*$")
BIND_HELP = re.compile(r"^\s*(绑定|绑定商户号?|怎么绑定)\s*$")
UNBIND = re.compile(r"^\s*(解绑|解除绑定)\s*$")
CHOICE = re.compile(r"^\s*(\d{1,2})\s*$")
BIND_OUTCOME_TEXT = {
    service.BindOutcome.WRONG: messages.WECHAT_BIND_WRONG,
    service.BindOutcome.EXPIRED: messages.WECHAT_BIND_EXPIRED,
    service.BindOutcome.USED: messages.WECHAT_BIND_USED,
    service.BindOutcome.LOCKED: messages.WECHAT_BIND_LOCKED,
}


@dataclass
class _Job:
    """One claimed push being answered: the passive reply, unless the deadline passed first."""

    ready: asyncio.Future[Reply] = field(default_factory=lambda: asyncio.get_running_loop()
                                         .create_future())  # fmt: skip
    late: bool = False


class WeChatChannel:
    """Answers pushes; registered in the Outbox as the 'wechat' sender."""

    def __init__(self, *, settings: Settings, turns: Turns, api: WeChatAPI, dedupe: Dedupe,
                 guests: GuestAnswers) -> None:  # fmt: skip
        self.settings = settings
        self.turns = turns
        self.api = api
        self.dedupe = dedupe
        self.guests = guests
        # Sessions in a WeChat turn in this process: what the Outbox hands over meanwhile is
        # part of that turn's answer, not pushed on its own.
        self._in_turn: dict[str, list[MessageRead]] = {}
        self._follower_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._redis: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, turns: Turns) -> WeChatChannel:
        """Shared state in Redis when pub/sub is Redis (several replicas), else the database."""
        redis = None
        if settings.pubsub_url.startswith(("redis://", "rediss://")):
            import redis.asyncio as aioredis

            redis = aioredis.from_url(settings.pubsub_url, decode_responses=True)
        store: TokenStore = (
            RedisTokenStore(redis, settings.wechat_appid)
            if redis is not None
            else DatabaseTokenStore(settings.database_url, settings.wechat_appid)
        )
        dedupe: Dedupe = (
            RedisDedupe(redis) if redis is not None else DatabaseDedupe(settings.database_url)
        )
        api = WeChatAPI(base_url=settings.wechat_api_base, appid=settings.wechat_appid,
                        secret=settings.wechat_secret, store=store)  # fmt: skip
        guests = GuestAnswers(bot=turns.bot, rasa_url=settings.rasa_url,
                              rasa_token=settings.rasa_token,
                              timeout=settings.rasa_timeout_seconds)  # fmt: skip
        channel = cls(settings=settings, turns=turns, api=api, dedupe=dedupe, guests=guests)
        channel._redis = redis
        return channel

    async def close(self) -> None:
        """Let answers in flight finish (they are owed to followers), then close clients."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=30)
        await self.guests.close()
        await self.api.close()
        if self._redis is not None:
            await self._redis.aclose()

    # --- inbound ---------------------------------------------------------------------------------

    async def answer(self, inbound: Inbound) -> str | None:
        """The passive reply's text, or None (reply 'success'): claimed once, never lost."""
        key = inbound.dedupe_key
        deadline = self.settings.wechat_reply_deadline_seconds
        if not await self.dedupe.claim(key):
            state, first = await wait_outcome(self.dedupe, key, deadline)
            log.info("wechat retry of %s answered from the first request (%s)", key, state)
            return first if state == InboundState.PASSIVE else None
        job = _Job()
        task = asyncio.create_task(self._run(inbound, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            reply = await asyncio.wait_for(asyncio.shield(job.ready), deadline)
        except TimeoutError:
            if not job.ready.done():
                # Decided in one step of the event loop: _run sees `late` and pushes instead.
                job.late = True
                await self.dedupe.finish(key, InboundState.ASYNC, None)
                return None
            reply = job.ready.result()
        if not reply:
            await self.dedupe.finish(key, InboundState.ASYNC, None)
            return None
        head, rest = (reply, Reply()) if reply.fits_passive() else reply.split()
        text = head.as_text()
        await self.dedupe.finish(key, InboundState.PASSIVE, text)
        await self._record(inbound.openid, head, DeliveryStatus.PASSIVE)
        if rest:
            await self.push(inbound.openid, rest)
        return text

    async def _run(self, inbound: Inbound, job: _Job) -> None:
        lock = self._follower_locks.setdefault(inbound.openid, asyncio.Lock())
        async with lock:  # one follower's messages are answered in order
            try:
                reply = await self._dispatch(inbound)
            except Exception:  # the follower is told; the message stays in the transcript
                log.exception("wechat message %s failed", inbound.dedupe_key)
                reply = Reply.say(messages.BOT_UNAVAILABLE)
            await self._remember_choices(inbound.openid, reply)
        if job.late:
            if reply:
                await self.push(inbound.openid, reply)
        else:
            job.ready.set_result(reply)
        if not lock.locked() and self._follower_locks.get(inbound.openid) is lock:
            del self._follower_locks[inbound.openid]

    async def _dispatch(self, inbound: Inbound) -> Reply:
        if inbound.msg_type == "event":
            return await self._event(inbound)
        fan_openid = inbound.openid
        await self.turns.db(
            lambda db: service.heard_from(
                db_session=db, fan=service.follower(db_session=db, openid=fan_openid)
            )
        )
        if inbound.msg_type == "text":
            return await self._text(inbound.openid, inbound.content, inbound.menu_id)
        if inbound.msg_type == "voice":
            if inbound.recognition.strip():
                return await self._text(inbound.openid, inbound.recognition, "")
            return Reply.say(messages.WECHAT_VOICE_UNREADABLE)
        if inbound.msg_type == "image" and inbound.media_id:
            return await self._photo(inbound.openid, inbound.media_id)
        return Reply.say(messages.WECHAT_UNSUPPORTED)

    async def _event(self, inbound: Inbound) -> Reply:
        openid = inbound.openid
        if inbound.event in {"subscribe", "unsubscribe"}:
            subscribed = inbound.event == "subscribe"
            await self.turns.db(
                lambda db: service.set_subscribed(
                    db_session=db, fan=service.follower(db_session=db, openid=openid),
                    subscribed=subscribed,
                )
            )  # fmt: skip
            return Reply.say(messages.WECHAT_WELCOME) if subscribed else Reply()
        if inbound.event == "click" and inbound.event_key in set(Click):
            click = Click(inbound.event_key)
            if click == Click.BIND:
                return Reply.say(messages.WECHAT_HOW_TO_BIND)
            return await self._text(openid, CLICK_TEXT[click], "")
        return Reply()  # VIEW, SCAN, LOCATION, template receipts: nothing to say

    async def _text(self, openid: str, text: str, menu_id: str) -> Reply:
        text = text.strip()
        if not text:
            return Reply.say(messages.MESSAGE_EMPTY)
        if len(text) > self.settings.max_message_chars:
            return Reply.say(
                messages.MESSAGE_TOO_LONG.format(limit=self.settings.max_message_chars)
            )
        if (code := BIND.match(text)) is not None:
            return await self._bind(openid, code.group(1))
        if BIND_HELP.match(text):
            return Reply.say(messages.WECHAT_HOW_TO_BIND)
        if UNBIND.match(text):
            unbound = await self.turns.db(
                lambda db: service.unbind(
                    db_session=db, fan=service.follower(db_session=db, openid=openid)
                )
            )
            return Reply.say(messages.WECHAT_UNBOUND if unbound else messages.WECHAT_NOT_BOUND)

        def find(db: Session) -> tuple[str | None, str | None, str]:
            fan = service.follower(db_session=db, openid=openid)
            said = _chosen(fan.choices, menu_id or text) or text
            fan.choices = None
            merchant_no = service.merchant_no_of(db_session=db, fan=fan)
            if merchant_no is None:
                return None, None, said
            return merchant_no, service.open_session(db_session=db, fan=fan).id, said

        merchant_no, session_id, said = await self.turns.db(find)
        if merchant_no is None or session_id is None:
            try:
                general = await self.guests.answer(openid, said)
            except BotUnavailableError:
                return Reply.say(messages.BOT_UNAVAILABLE)
            if general is None:
                return Reply.say(messages.WECHAT_NEEDS_BINDING.format(
                    how=messages.WECHAT_HOW_TO_BIND))  # fmt: skip
            return general
        return await self._turn(session_id, merchant_no, said)

    async def _turn(self, session_id: str, merchant_no: str, text: str) -> Reply:
        """The widget's conversation flow; what the Outbox hands over meanwhile is the answer."""
        collected: list[MessageRead] = []
        self._in_turn[session_id] = collected
        try:
            await self.turns.merchant_says(session_id=session_id, merchant_no=merchant_no,
                                           text=text)  # fmt: skip
        finally:
            del self._in_turn[session_id]
        return Reply.of(collected)

    async def _photo(self, openid: str, media_id: str) -> Reply:
        def find(db: Session) -> tuple[str | None, str | None]:
            fan = service.follower(db_session=db, openid=openid)
            merchant_no = service.merchant_no_of(db_session=db, fan=fan)
            if merchant_no is None:
                return None, None
            return merchant_no, service.open_session(db_session=db, fan=fan).id

        merchant_no, session_id = await self.turns.db(find)
        if merchant_no is None or session_id is None:
            return Reply.say(messages.WECHAT_PHOTO_NEEDS_BINDING)
        try:
            data = await self.api.media(media_id, self.settings.max_upload_bytes)
            await attachment_flows.merchant_attaches(
                turns=self.turns, session_id=session_id, merchant_no=merchant_no, data=data,
                max_bytes=self.settings.max_upload_bytes,
                storage=self.settings.attachment_backend(),
            )  # fmt: skip
        except (WeChatError, InvalidInputError, RequestTooLargeError) as exc:
            log.warning("wechat photo %s not kept: %s", media_id[:16], exc)
            return Reply.say(messages.WECHAT_PHOTO_FAILED)
        return Reply.say(messages.WECHAT_PHOTO_RECEIVED)

    async def _bind(self, openid: str, code: str) -> Reply:
        def work(db: Session) -> service.BindResult:
            fan = service.follower(db_session=db, openid=openid)
            return service.redeem(db_session=db, fan=fan, code=code,
                                  secret_key=self.settings.secret_key)  # fmt: skip

        result = await self.turns.db(work)
        if result.outcome == service.BindOutcome.BOUND:
            log.info("wechat follower bound to a merchant")
            return Reply.say(messages.WECHAT_BOUND.format(merchant=result.merchant_name))
        log.warning("wechat bind code refused: %s", result.outcome)
        return Reply.say(BIND_OUTCOME_TEXT[result.outcome])

    async def _remember_choices(self, openid: str, reply: Reply) -> None:
        choices = reply.choices()
        if choices:
            def keep(db: Session) -> None:
                service.follower(db_session=db, openid=openid).choices = choices

            await self.turns.db(keep)

    # --- outbound --------------------------------------------------------------------------------

    async def send(self, *, session_id: str, message: MessageRead) -> None:
        """Outbox sender: part of a running turn's answer, or pushed now (an agent's reply)."""
        collected = self._in_turn.get(session_id)
        if collected is not None:
            collected.append(message)
            return
        fan = await self.turns.db(
            lambda db: service.by_session(db_session=db, session_id=session_id)
        )
        if fan is None:
            log.warning("wechat session %s has no follower: message %s not pushed",
                        session_id, message.id)  # fmt: skip
            return
        reply = Reply.of([message])
        await self._remember_choices(fan.openid, reply)
        await self.push(fan.openid, reply)

    async def push(self, openid: str, reply: Reply) -> None:
        """Send through the customer-service API; record the outcome, never retry blindly."""
        fan = await self.turns.db(lambda db: db.get(Follower, openid))
        session_id = fan.session_id if fan else None
        if fan is not None and not fan.subscribed:
            await self._record(openid, reply, DeliveryStatus.UNREACHABLE, session_id,
                               reason="unsubscribed")  # fmt: skip
            return
        for body in reply.custom_messages(openid):
            try:
                await self.api.send_custom(body)
            except WeChatError as exc:
                reason = UNREACHABLE.get(exc.errcode)
                status = DeliveryStatus.UNREACHABLE if reason else DeliveryStatus.FAILED
                log.warning("wechat custom/send failed (%s): %s", exc.errcode, exc.errmsg)
                await self._record(openid, reply, status, session_id, exc.errcode, exc.errmsg,
                                   reason)  # fmt: skip
                return
            except Exception as exc:  # a timeout after sending: WeChat may have it; not resent
                log.warning("wechat custom/send outcome unknown: %r", exc)
                await self._record(openid, reply, DeliveryStatus.FAILED, session_id, None,
                                   repr(exc))  # fmt: skip
                return
        await self._record(openid, reply, DeliveryStatus.SENT, session_id)

    async def _record(self, openid: str, reply: Reply, status: DeliveryStatus,
                      session_id: str | None = None, errcode: int | None = None,
                      errmsg: str | None = None, reason: str | None = None) -> None:  # fmt: skip
        metrics.WECHAT_DELIVERIES.labels(status=str(status)).inc()

        def work(db: Session) -> None:
            sid = session_id
            if sid is None:
                fan = db.get(Follower, openid)
                sid = fan.session_id if fan else None
            service.record_delivery(db_session=db, openid=openid, session_id=sid,
                                    message_ids=reply.message_ids, status=status,
                                    errcode=errcode, errmsg=errmsg, reason=reason)  # fmt: skip

        await self.turns.db(work)


def _chosen(choices: list[str] | None, said: str) -> str | None:
    """'2' (or a msgmenu id) picks the second button of the last reply."""
    number = CHOICE.match(said)
    if not choices or number is None:
        return None
    index = int(number.group(1))
    return choices[index - 1] if 1 <= index <= len(choices) else None
