"""Rendering the console: the template environment, its filters, and the session timeline."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dropdesk import messages
from dropdesk.config import Settings
from dropdesk.console.security import FLASH_COOKIE, forget, take_flash
from dropdesk.conversation.models import MessageRead
from dropdesk.handoff.models import NoteRead, SessionDetail
from dropdesk.timezone import SHANGHAI
from dropdesk.widget.security import PAGE_HEADERS

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# Agents' pages hold merchants' data: never cached, by the browser or on the way.
HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}
_MERCHANT_ATTACHMENT = re.compile(r"^/api/v1/sessions/([\w-]+)/attachments/(\d+)$")


def attachment_url(session_id: str, attachment_id: int | str) -> str:
    """Where a signed-in agent views a session's photo."""
    return f"/console/sessions/{session_id}/attachments/{attachment_id}"


def for_agents(merchant_url: str | None) -> str | None:
    """The console's address for an attachment the API names by its merchant-facing URL."""
    match = _MERCHANT_ATTACHMENT.match(merchant_url or "")
    return attachment_url(match.group(1), match.group(2)) if match else None


def _local(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI)


def hm(value: dt.datetime | str | None) -> str:
    local = _local(value)
    return f"{local:%H:%M}" if local else ""


def when(value: dt.datetime | str | None) -> str:
    local = _local(value)
    return f"{local:%m-%d %H:%M}" if local else ""


def duration(seconds: float) -> str:
    """A wait in agents' words: 刚刚, 5 分钟, 1 小时 5 分, 2 天 3 小时."""
    minutes = int(seconds) // 60
    if minutes < 1:
        return "刚刚"
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} 小时 {minutes} 分"
    days, hours = divmod(hours, 24)
    return f"{days} 天 {hours} 小时"


def yuan(value: object) -> str:
    if value in (None, ""):
        return ""
    try:
        return f"¥{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def due(value: dt.datetime | None, now: dt.datetime) -> dict[str, Any]:
    """An SLA deadline: its time, and how far before or past it we are."""
    if value is None:
        return {"text": "", "overdue": False}
    left = (value - now).total_seconds()
    if left < 0:
        late = "刚超时" if left > -60 else f"超时 {duration(-left)}"
        return {"text": f"{hm(value)}（{late}）", "overdue": True}
    soon = "不到 1 分钟" if left < 60 else f"剩 {duration(left)}"
    return {"text": f"{hm(value)}（{soon}）", "overdue": False}


def actor(value: str) -> str:
    """Who did it: "agent:张三" -> 张三, "bot" -> 机器人."""
    if value.startswith("agent:"):
        return value.removeprefix("agent:")
    return messages.ACTOR_TEXT.get(value, value)


def event_note(value: str | None) -> str:
    """A history note in agents' words (the services record codes such as "release")."""
    if not value:
        return ""
    for prefix in ("reassign to ", "reassign:"):
        if value.startswith(prefix):
            return f"转派给 {value.removeprefix(prefix)}"
    if value.startswith("rating "):
        return f"评分 {value.removeprefix('rating ')}"
    return messages.HISTORY_NOTE_TEXT.get(value, value)


def merchant_said(detail: SessionDetail) -> dict[str, str | None]:
    """What the merchant told us: the session's evidence now, else what the ticket recorded."""
    evidence = detail.session.evidence
    said: dict[str, Any] = {}
    if detail.ticket is not None:
        said = detail.ticket.evidence.get("merchant_said") or {}
    if evidence.txn_time:
        start, end = evidence.txn_time.start, evidence.txn_time.end
    else:  # the ticket keeps the diagnosis query (time_from/to) or the evidence (txn_time)
        window = said.get("txn_time") or {}
        start = said.get("time_from") or window.get("start")
        end = said.get("time_to") or window.get("end")
    return {
        "order_ref": evidence.order_ref or said.get("order_ref"),
        "time": f"{when(start)} – {hm(end)}" if start and end else None,
        "amount": yuan(evidence.amount or said.get("amount")) or None,
        "card_last4": said.get("card_last4"),
    }


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.trim_blocks = templates.env.lstrip_blocks = True  # a 1,000-row queue stays lean
templates.env.globals["m"] = messages
templates.env.filters.update(
    hm=hm, when=when, duration=duration, yuan=yuan, actor=actor, event_note=event_note
)


@dataclass(frozen=True)
class TimelineItem:
    """A message or a private note, in the order they happened."""

    kind: str  # "message" | "note"
    id: int
    created_at: dt.datetime
    sender: str
    who: str
    text: str
    photo: str | None = None
    buttons: tuple[str, ...] = ()


def timeline(transcript: list[MessageRead], notes: list[NoteRead]) -> list[TimelineItem]:
    """Messages and notes merged by time (a note after the message it was written beside)."""
    items = [
        TimelineItem(
            kind="message",
            id=m.id,
            created_at=m.created_at,
            sender=m.sender,
            who=(
                f"{messages.SENDER_TEXT['agent']} {m.agent}"
                if m.agent
                else messages.SENDER_TEXT.get(m.sender, m.sender)
            ),
            text=m.text,
            photo=for_agents(m.attachment),
            buttons=tuple(b.title for b in m.buttons),
        )
        for m in transcript
    ] + [
        TimelineItem(
            kind="note", id=n.id, created_at=n.created_at, sender="note", who=n.agent, text=n.text
        )
        for n in notes
    ]
    return sorted(items, key=lambda i: (i.created_at, i.kind == "note", i.id))


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    settings: Settings,
    status_code: int = 200,
) -> HTMLResponse:
    """A console page with our headers, and the flash note shown once.

    console.js re-fetches whole pages to swap panels (X-Console-Part): those leave the note
    for the page the agent is being redirected to.
    """
    part = "x-console-part" in request.headers
    flash = None if part else take_flash(request, settings)
    response = templates.TemplateResponse(
        request, name, {**context, "flash": flash}, status_code=status_code, headers=HEADERS
    )
    if not part and FLASH_COOKIE in request.cookies:
        forget(response, FLASH_COOKIE, settings)
    return response


def fragment(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """Part of a page, fetched by console.js to swap in (the flash note stays for the page)."""
    return templates.TemplateResponse(request, name, context, headers=HEADERS)
