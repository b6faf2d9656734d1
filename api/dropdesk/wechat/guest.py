"""Followers not bound to a merchant: general answers from the bot, never a transaction.

A guest's message is classified by Rasa's NLU first; only general questions (network,
hardware, settlement times, small talk) reach the dialogue, under a sender id that is no
chat session, so the action server's internal calls for it find nothing to look up.
"""

from __future__ import annotations

import hashlib
import logging

import httpx

from dropdesk.dialogue.client import BotClient, BotUnavailableError
from dropdesk.wechat.compose import Button, Reply

log = logging.getLogger(__name__)

GENERAL_INTENTS = frozenset({
    "greet", "goodbye", "thank", "bot_challenge", "chitchat", "out_of_scope",
    "ask_network", "ask_hardware", "ask_software_upgrade", "ask_reprint", "ask_settlement_time",
    "ask_refund_time", "ask_response_code", "ask_training", "ask_prevention",
    "ask_licensed_acquirer", "nlu_fallback",
})  # fmt: skip


def guest_sender(openid: str) -> str:
    # ':' never occurs in a chat session id (token_urlsafe), so no session can be named.
    return "wechat-guest:" + hashlib.sha256(openid.encode()).hexdigest()[:24]


class GuestAnswers:
    def __init__(self, *, bot: BotClient, rasa_url: str, rasa_token: str, timeout: float) -> None:
        self.bot = bot
        self._token = rasa_token
        self._http = httpx.AsyncClient(base_url=rasa_url.rstrip("/"),
                                       timeout=httpx.Timeout(timeout, connect=2.0))  # fmt: skip

    async def close(self) -> None:
        await self._http.aclose()

    async def intent(self, text: str) -> str | None:
        """Rasa's NLU reading of the text (None if Rasa cannot say)."""
        if text.startswith("/"):
            return text[1:].split("{", 1)[0]
        try:
            response = await self._http.post(
                "/model/parse", params={"token": self._token}, json={"text": text}
            )
            response.raise_for_status()
            name = (response.json().get("intent") or {}).get("name")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("intent of a guest message unknown: %r", exc)
            return None
        return str(name) if name else None

    async def answer(self, openid: str, text: str) -> Reply | None:
        """The bot's general answer, or None when the question needs a bound merchant."""
        if await self.intent(text) not in GENERAL_INTENTS:
            return None
        try:
            turn = await self.bot.send(session_id=guest_sender(openid), text=text, metadata={})
        except BotUnavailableError as exc:
            log.warning("bot unavailable for a guest: %s", exc)
            raise
        reply = Reply()
        for item in turn.replies:
            if item.text:
                reply.texts.append(item.text)
            reply.buttons += [Button(b.title, b.payload) for b in item.buttons]
        return reply
