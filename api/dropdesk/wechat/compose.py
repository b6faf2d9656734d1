"""What the follower reads: several messages merged, buttons as numbered choices or a msgmenu."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dropdesk import messages
from dropdesk.conversation.models import MessageRead

# WeChat cuts text messages at 2,048 bytes; keep room for the choices and separators.
MAX_BYTES = 1900


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass
class Reply:
    """One answer to the follower: texts in order, and every message's buttons, numbered."""

    texts: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.texts or self.buttons)

    @classmethod
    def say(cls, text: str) -> Reply:
        return cls(texts=[text])

    @classmethod
    def of(cls, stored: list[MessageRead]) -> Reply:
        """The merchant-visible messages of a turn (the merchant's own are not echoed)."""
        reply = cls()
        for message in stored:
            if message.sender == "merchant":
                continue
            if message.text:
                reply.texts.append(_who(message) + message.text)
            reply.buttons += [Button(b.title, b.payload) for b in message.buttons]
            reply.message_ids.append(message.id)
        return reply

    def choices(self) -> list[str] | None:
        """Payloads by number (1-based) for the follower's next message."""
        return [b.payload for b in self.buttons] or None

    def as_text(self) -> str:
        """The whole reply as one text: the passive reply."""
        parts = list(self.texts)
        if self.buttons:
            listed = "\n".join(f"{i}. {b.title}" for i, b in enumerate(self.buttons, 1))
            parts.append(f"{messages.WECHAT_CHOICE_HINT}\n{listed}")
        return "\n\n".join(parts)

    def fits_passive(self) -> bool:
        return len(self.as_text().encode()) <= MAX_BYTES

    def split(self) -> tuple[Reply, Reply]:
        """The longest head that fits one text, and the rest (sent by customer-service API)."""
        head = Reply(message_ids=self.message_ids)
        rest = Reply(buttons=self.buttons)
        for text in self.texts:
            trial = Reply(texts=[*head.texts, text])
            if not rest.texts and (trial.fits_passive() or not head.texts):
                head.texts.append(text)
            else:
                rest.texts.append(text)
        if not rest.texts:
            head.buttons, rest.buttons = self.buttons, []
        return head, rest

    def custom_messages(self, openid: str) -> list[dict[str, Any]]:
        """customer-service messages: texts, the last one a msgmenu when there are buttons."""
        bodies: list[dict[str, Any]] = []
        texts = list(self.texts)
        menu_head = texts.pop() if self.buttons and texts else ""
        for text in _chunks(texts):
            bodies.append({"touser": openid, "msgtype": "text", "text": {"content": text}})
        if self.buttons:
            bodies.append({
                "touser": openid,
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": menu_head,
                    "list": [{"id": str(i), "content": b.title}
                             for i, b in enumerate(self.buttons, 1)],
                    "tail_content": "",
                },
            })  # fmt: skip
        return bodies


def _who(message: MessageRead) -> str:
    # In WeChat every message comes from the account: say when a person is speaking.
    return f"【客服 {message.agent}】" if message.sender == "agent" and message.agent else ""


def _chunks(texts: list[str]) -> list[str]:
    """Merge texts into as few messages as fit WeChat's limit."""
    merged: list[str] = []
    for text in texts:
        if merged and len((merged[-1] + "\n\n" + text).encode()) <= MAX_BYTES:
            merged[-1] += "\n\n" + text
        else:
            merged.append(text)
    return merged
