"""The agent console's pages: sign-in, the queue, one session, and the parts console.js swaps.

Pages redirect to the login page when nobody is signed in; fragments and photos answer 401
(actions too, see actions.py; the live socket closes with 4401, see live.py).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from dropdesk import messages
from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentRole
from dropdesk.agent.service import LoginLockedError
from dropdesk.attachment import service as attachment_service
from dropdesk.attachment.views import photo_response
from dropdesk.config import Settings
from dropdesk.console import canned, pages, service
from dropdesk.console import security as sec
from dropdesk.console.actions import MAX_TEXT, QUEUE, Csrf, redirect, refused, session_url
from dropdesk.console.actions import router as actions_router
from dropdesk.console.live import router as live_router
from dropdesk.console.security import ConsoleViewer, MaybeViewer, Viewer
from dropdesk.conversation.models import SessionStatus
from dropdesk.dashboard.views import router as dashboard_router
from dropdesk.deps import SessionDep, SettingsDep
from dropdesk.errors import NotFoundError
from dropdesk.handoff import detail
from dropdesk.handoff import service as handoff_service
from dropdesk.handoff.models import NoteRead
from dropdesk.timezone import now_shanghai

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

STATIC_FILES = {"console.css": "text/css; charset=utf-8",
                "console.js": "text/javascript; charset=utf-8"}  # fmt: skip


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={quote(request.url.path)}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a console path (no other site, no //host): the target after signing in."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return QUEUE


# --- static files and signing in --------------------------------------------------------------


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """console.css and console.js (no inline code under our CSP)."""
    if name not in STATIC_FILES:
        raise NotFoundError("not found")
    return FileResponse(
        pages.STATIC / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _login_page(request: Request, settings: Settings, *, next_url: str, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:  # fmt: skip
    nonce, new = sec.login_form_nonce(request)
    response = pages.render(
        request,
        "login.html",
        {"next": next_url, "error": error,
         "csrf": sec.login_form_token(nonce=nonce, settings=settings)},
        settings=settings,
        status_code=status_code,
    )  # fmt: skip
    if new:
        sec.set_login_form_nonce(response, nonce, settings)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, viewer: MaybeViewer, settings: SettingsDep,
               next: str | None = None) -> Response:  # fmt: skip
    """The sign-in form (an agent already signed in goes straight on)."""
    if viewer is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, settings, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    settings: SettingsDep,
    db_session: SessionDep,
    name: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
    next: Annotated[str, Form(max_length=500)] = QUEUE,
) -> Response:
    """Check the password (throttled by the agent service) and set the console cookie."""
    nonce = request.cookies.get(sec.LOGIN_COOKIE, "")
    expected = sec.login_form_token(nonce=nonce, settings=settings) if nonce else ""
    if not expected or not sec.csrf_ok(expected=expected, given=csrf):
        return _login_page(request, settings, next_url=_safe_next(next),
                           error=messages.CSRF_FAILED, status_code=403)  # fmt: skip
    now = now_shanghai()
    try:
        agent = agent_service.authenticate(
            db_session=db_session, name=name.strip(), password=password, now=now
        )
    except LoginLockedError as exc:
        minutes = max(1, -(-int((exc.until - now).total_seconds()) // 60))
        return _login_page(request, settings, next_url=_safe_next(next),
                           error=messages.LOGIN_LOCKED.format(minutes=minutes),
                           status_code=429)  # fmt: skip
    if agent is None:
        return _login_page(request, settings, next_url=_safe_next(next),
                           error=messages.LOGIN_FAILED, status_code=401)  # fmt: skip
    response = RedirectResponse(_safe_next(next), status_code=303)
    sec.set_login_cookie(response, sec.issue(agent=agent, settings=settings, now=now), settings)
    sec.forget(response, sec.LOGIN_COOKIE, settings)
    return response


@router.post("/logout")
def logout(viewer: ConsoleViewer, settings: SettingsDep, db_session: SessionDep,
           request: Request, csrf: Csrf = "") -> Response:  # fmt: skip
    """End every console login of this agent (all devices), then back to the login page."""
    if not sec.csrf_ok(expected=viewer.csrf, given=csrf):
        return refused(request, viewer, settings, QUEUE)
    service.log_out(agent=viewer.agent)  # the agent row of this request's database session
    response = redirect("/console/login", "ok", messages.LOGGED_OUT, settings)
    sec.forget(response, sec.COOKIE, settings)
    return response


# --- pages and the fragments console.js swaps in ---------------------------------------------


def _queue_context(viewer: Viewer, db_session: SessionDep) -> dict[str, object]:
    now = now_shanghai()
    entries = handoff_service.queue(db_session=db_session, now=now)
    return {
        "viewer": viewer,
        "entries": entries,
        "queued": sum(1 for e in entries if e.status == SessionStatus.QUEUED),
        "now": now,
        "due": pages.due,
    }


@router.get("", response_class=HTMLResponse)
def queue_page(request: Request, viewer: MaybeViewer, settings: SettingsDep,
               db_session: SessionDep) -> Response:  # fmt: skip
    """Sessions waiting for a person, by priority then waiting time; then those held."""
    if viewer is None:
        return _to_login(request)
    context = _queue_context(viewer, db_session) | {"active": "queue"}
    return pages.render(request, "queue.html", context, settings=settings)


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(request: Request, viewer: ConsoleViewer, db_session: SessionDep) -> Response:
    """The queue table alone, for console.js to swap in when the queue changes."""
    return pages.fragment(request, "queue_list.html", _queue_context(viewer, db_session))


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(session_id: str, request: Request, viewer: MaybeViewer,
                 settings: SettingsDep, db_session: SessionDep) -> Response:  # fmt: skip
    """Transcript with notes, evidence, every diagnosis, the ticket, and the actions."""
    if viewer is None:
        return _to_login(request)
    try:
        found = detail.session_detail(db_session=db_session, session_id=session_id)
    except NotFoundError:
        context = {"viewer": viewer, "text": messages.CONSOLE_NOT_FOUND, "back": QUEUE}
        return pages.render(request, "refused.html", context, settings=settings,
                            status_code=404)  # fmt: skip
    agent = viewer.agent
    status = found.session.status
    supervisor = agent.role == AgentRole.SUPERVISOR
    holds = status == SessionStatus.AGENT and (supervisor or found.assignee == agent.name)
    latest = found.diagnoses[-1] if found.diagnoses else None
    ticket_terminals = found.ticket.evidence.get("terminals", []) if found.ticket else []
    items = pages.timeline(found.transcript, found.notes)
    context = {
        "viewer": viewer,
        "d": found,
        "session_id": session_id,
        "url": session_url(session_id),
        "items": items,
        "photos": [i for i in items if i.photo],
        "said": pages.merchant_said(found),
        "status": status,
        "holds": holds,
        "supervisor": supervisor,
        "agents": [a.name for a in agent_service.all_active(db_session=db_session)]
        if supervisor
        else [],
        "canned": canned.replies(found) if holds else [],
        "terminals": (latest.terminals if latest and latest.terminals else ticket_terminals),
        "now": now_shanghai(),
        "due": pages.due,
        "max_text": MAX_TEXT,
    }
    return pages.render(request, "session.html", context, settings=settings)


@router.get("/sessions/{session_id}/feed", response_class=HTMLResponse)
def feed(session_id: str, request: Request, viewer: ConsoleViewer, db_session: SessionDep,
         after: int = 0, notes_after: int = 0) -> Response:  # fmt: skip
    """Messages and notes newer than the ones the page shows, as timeline items."""
    transcript = detail.transcript(db_session=db_session, session_id=session_id, after_id=after)
    notes = [
        NoteRead(id=n.id, agent=name, text=n.text, created_at=n.created_at)
        for n, name in handoff_service.notes(db_session=db_session, session_id=session_id)
        if n.id > notes_after
    ]
    return pages.fragment(request, "timeline.html", {"items": pages.timeline(transcript, notes)})


@router.get("/sessions/{session_id}/attachments/{attachment_id}")
def attachment(session_id: str, attachment_id: int, viewer: ConsoleViewer,
               db_session: SessionDep, settings: SettingsDep) -> Response:  # fmt: skip
    """A photo the merchant sent in this session, for signed-in agents."""
    found = attachment_service.get_in_session(
        db_session=db_session, session_id=session_id, attachment_id=attachment_id
    )
    return photo_response(found, settings, db_session, cache_control="private, no-store")


router.include_router(actions_router)
router.include_router(live_router)
router.include_router(dashboard_router)
