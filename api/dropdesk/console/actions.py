"""The agent console's actions: every one a form (POST, then a redirect with a note).

A form without the login's CSRF token does nothing (403). Domain errors (someone else
claimed it first, the bot is down) become a note on the page the agent came from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dropdesk import messages
from dropdesk.agent.models import Agent
from dropdesk.config import Settings
from dropdesk.console import pages, service
from dropdesk.console import security as sec
from dropdesk.console.security import ConsoleViewer, Viewer
from dropdesk.database.core import run_in_session
from dropdesk.dialogue.client import BotUnavailableError
from dropdesk.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from dropdesk.handoff.flows import Handoffs

router = APIRouter()

MAX_TEXT = 2000
QUEUE = "/console"
Csrf = Annotated[str, Form()]
Work = Callable[[Handoffs, Agent], Awaitable[str | None]]


def session_url(session_id: str) -> str:
    return f"/console/sessions/{quote(session_id, safe='')}"


def redirect(to: str, kind: str, text: str | None, settings: Settings) -> RedirectResponse:
    """303 to a page that shows the note once."""
    response = RedirectResponse(to, status_code=303)
    if text:
        sec.set_flash(response, kind, text, settings)
    return response


def refused(request: Request, viewer: Viewer, settings: Settings, back: str) -> Response:
    """A form without a valid CSRF token: nothing was done."""
    context = {"viewer": viewer, "text": messages.CSRF_FAILED, "back": back}
    return pages.render(request, "refused.html", context, settings=settings, status_code=403)


def _for_people(exc: Exception, fallback: str) -> str:
    # Domain errors meant for people are worded in Chinese; English ones are for developers.
    text = str(exc)
    return fallback if not text or text.isascii() else text


async def _holder(settings: Settings, session_id: str) -> str | None:
    return await run_in_session(
        settings.database_url, lambda db: service.holder(db_session=db, session_id=session_id)
    )


async def _act(request: Request, viewer: Viewer, csrf: str, session_id: str, work: Work, *,
               back: str, done: str, claiming: bool = False) -> Response:  # fmt: skip
    settings: Settings = request.app.state.settings
    if not sec.csrf_ok(expected=viewer.csrf, given=csrf):
        return refused(request, viewer, settings, back)
    handoffs: Handoffs = request.app.state.handoffs
    try:
        note = await work(handoffs, viewer.agent)
    except ConflictError as exc:
        text = _for_people(exc, messages.TICKET_CHANGED)
        holder = await _holder(settings, session_id) if claiming else None
        if holder and holder != viewer.agent.name:
            text = messages.CLAIMED_BY_OTHER.format(agent=holder)
        return redirect(back, "error", text, settings)
    except NotFoundError as exc:
        return redirect(back, "error", _for_people(exc, messages.CONSOLE_NOT_FOUND), settings)
    except (ForbiddenError, InvalidInputError) as exc:
        return redirect(back, "error", _for_people(exc, messages.CONSOLE_INVALID), settings)
    except BotUnavailableError:
        return redirect(back, "error", messages.CONSOLE_BOT_UNAVAILABLE, settings)
    return redirect(done, "ok", note, settings)


def _text(raw: str) -> str:
    """What an agent typed, trimmed and checked (the handoff service masks card numbers)."""
    text = raw.strip()
    if not text:
        raise InvalidInputError(messages.CONSOLE_TEXT_EMPTY)
    if len(text) > MAX_TEXT:
        raise InvalidInputError(messages.CONSOLE_TEXT_TOO_LONG.format(limit=MAX_TEXT))
    return text


@router.post("/sessions/{session_id}/claim")
async def claim(session_id: str, request: Request, viewer: ConsoleViewer, csrf: Csrf = "",
                origin: Annotated[str, Form(alias="from")] = "session") -> Response:  # fmt: skip
    """Take a queued session; if someone was quicker, say who."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        await handoffs.claim(session_id, agent)
        return messages.CONSOLE_DONE["claim"]

    back = QUEUE if origin == "queue" else session_url(session_id)
    return await _act(request, viewer, csrf, session_id, work, back=back,
                      done=session_url(session_id), claiming=True)  # fmt: skip


@router.post("/sessions/{session_id}/reply")
async def reply(session_id: str, request: Request, viewer: ConsoleViewer, csrf: Csrf = "",
                text: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """Say something to the merchant."""

    async def work(handoffs: Handoffs, agent: Agent) -> None:
        await handoffs.reply(session_id, agent, _text(text))

    url = session_url(session_id)
    return await _act(request, viewer, csrf, session_id, work, back=url, done=url)


@router.post("/sessions/{session_id}/note")
async def note(session_id: str, request: Request, viewer: ConsoleViewer, csrf: Csrf = "",
               text: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """A private note: agents see it, the merchant never does."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        await handoffs.note(session_id, agent, _text(text))
        return messages.CONSOLE_DONE["note"]

    url = session_url(session_id)
    return await _act(request, viewer, csrf, session_id, work, back=url, done=url)


@router.post("/sessions/{session_id}/release")
async def release(session_id: str, request: Request, viewer: ConsoleViewer,
                  csrf: Csrf = "") -> Response:  # fmt: skip
    """Put the session back in the queue."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        await handoffs.release(session_id, agent)
        return messages.CONSOLE_DONE["release"]

    return await _act(request, viewer, csrf, session_id, work,
                      back=session_url(session_id), done=QUEUE)  # fmt: skip


@router.post("/sessions/{session_id}/reassign")
async def reassign(session_id: str, request: Request, viewer: ConsoleViewer, csrf: Csrf = "",
                   to: Annotated[str, Form(alias="agent")] = "") -> Response:  # fmt: skip
    """Give the session to another agent (supervisors only)."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        await handoffs.reassign(session_id, agent, to.strip())
        return messages.CONSOLE_DONE["reassign"].format(agent=to.strip())

    url = session_url(session_id)
    return await _act(request, viewer, csrf, session_id, work, back=url, done=url)


@router.post("/sessions/{session_id}/handback")
async def handback(session_id: str, request: Request, viewer: ConsoleViewer,
                   csrf: Csrf = "") -> Response:  # fmt: skip
    """Give the conversation back to the bot."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        await handoffs.hand_back(session_id, agent)
        return messages.CONSOLE_DONE["handback"]

    return await _act(request, viewer, csrf, session_id, work,
                      back=session_url(session_id), done=QUEUE)  # fmt: skip


@router.post("/sessions/{session_id}/resolve")
async def resolve(session_id: str, request: Request, viewer: ConsoleViewer, csrf: Csrf = "",
                  resolution: Annotated[str, Form()] = "",
                  note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """Resolve the ticket, hand back to the bot, ask the merchant for a rating."""

    async def work(handoffs: Handoffs, agent: Agent) -> str:
        if resolution not in messages.RESOLUTION_TEXT:
            raise InvalidInputError(messages.CONSOLE_INVALID)
        summary = _text(note) if note.strip() else ""
        ticket = await handoffs.resolve(session_id, agent, resolution, summary)
        return messages.CONSOLE_DONE["resolve"].format(ticket_no=ticket.ticket_no)

    return await _act(request, viewer, csrf, session_id, work,
                      back=session_url(session_id), done=QUEUE)  # fmt: skip
