"""A stand-in for Rasa that speaks DropDesk's channel (bot/channels.py) over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from dropdesk.devrun import free_port
from dropdesk.devrun import serve_in_thread as serve

__all__ = ["FakeRasa", "free_port", "serve"]


class FakeRasa:
    """Replies 'heard: <text>' with a button; remembers slots set by '/slot name=value'.

    '/clear' forgets the sender's slots (a new drop); the HTTP API's tracker reset
    (POST /conversations/<id>/tracker/events?token=...) checks the token as Rasa does.
    As bot/channels.py does: a message is kept by its message_id, and a request marked
    "retry" for a message already taken gets that turn's answer back without running it;
    `failures` answers the next requests 503 (a failed turn, nothing kept).
    """

    def __init__(self, token: str = "dev-only-rasa-token") -> None:
        self.delay = 0.0
        self.token = token
        self.received: list[dict[str, Any]] = []
        self.slots: dict[str, dict[str, Any]] = {}
        self.resets: list[tuple[str, list[dict[str, Any]]]] = []
        self.failures = 0
        self.taken: dict[tuple[str, str], dict[str, Any]] = {}
        self.app = FastAPI()

        @self.app.post("/conversations/{sender}/tracker/events")
        async def events(sender: str, body: list[dict[str, Any]], token: str = "") -> Any:
            if token != self.token:
                return JSONResponse({"status": "failure", "reason": "NotAuthenticated"}, 401)
            self.resets.append((sender, body))
            if {"event": "restart"} in body:
                self.slots.pop(sender, None)
            return {"sender_id": sender, "events": body}

        @self.app.post("/webhooks/dropdesk/webhook")
        async def webhook(body: dict[str, Any]) -> Any:
            await asyncio.sleep(self.delay)
            self.received.append(body)
            sender, text = body["sender"], body["message"]
            message_id = body.get("message_id")
            if body.get("retry") is True and (sender, message_id) in self.taken:
                return self.taken[(sender, message_id)]
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({"error": "turn failed"}, 503)
            if text == "/clear":
                self.slots.pop(sender, None)
            if text.startswith("/slot "):
                name, _, value = text.removeprefix("/slot ").partition("=")
                self.slots.setdefault(sender, {})[name] = value
            messages = [
                {"recipient_id": sender, "text": f"heard: {text}",
                 "buttons": [{"title": "解决了", "payload": "/affirm"}]},
            ]  # fmt: skip
            answer = {"messages": messages, "slots": self.slots.get(sender, {})}
            if isinstance(message_id, str):
                self.taken[(sender, message_id)] = answer
            return answer
