"""The agent API: the console's actions as JSON, for integrations and scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dropdesk.conversation.models import MessageRead
from dropdesk.deps import ApiAgent, SessionDep
from dropdesk.handoff import detail, service
from dropdesk.handoff.flows import Handoffs
from dropdesk.handoff.models import (
    NoteRead,
    QueueEntry,
    ReassignBody,
    ResolveBody,
    SessionChange,
    SessionDetail,
    TextBody,
)
from dropdesk.ticket.models import Ticket
from dropdesk.timezone import now_shanghai

router = APIRouter(prefix="/api/v1/agent", tags=["agent"])


def handoffs(request: Request) -> Handoffs:
    runner: Handoffs = request.app.state.handoffs
    return runner


def _change(
    session_id: str, status: str, ticket: Ticket | None, assignee: str | None = None
) -> SessionChange:
    return SessionChange(
        session_id=session_id,
        status=status,
        ticket_no=ticket.ticket_no if ticket else None,
        ticket_status=ticket.status if ticket else None,
        assignee=assignee,
    )


@router.get("/queue", response_model=list[QueueEntry])
def queue(agent: ApiAgent, db_session: SessionDep) -> list[QueueEntry]:
    """Sessions waiting for a person (by priority, then wait) and those agents hold."""
    return service.queue(db_session=db_session, now=now_shanghai())


@router.get("/sessions/{session_id}", response_model=SessionDetail)
def session(session_id: str, agent: ApiAgent, db_session: SessionDep) -> SessionDetail:
    """Transcript, evidence, every diagnosis, the ticket, notes and the change history."""
    return detail.session_detail(db_session=db_session, session_id=session_id)


@router.post("/sessions/{session_id}/claim", response_model=SessionChange)
async def claim(session_id: str, agent: ApiAgent, request: Request) -> SessionChange:
    """Take the session; 409 when another agent has it."""
    ticket = await handoffs(request).claim(session_id, agent)
    return _change(session_id, "agent", ticket, agent.name)


@router.post("/sessions/{session_id}/release", response_model=SessionChange)
async def release(session_id: str, agent: ApiAgent, request: Request) -> SessionChange:
    """Put the session back in the queue."""
    return _change(session_id, "queued", await handoffs(request).release(session_id, agent))


@router.post("/sessions/{session_id}/reassign", response_model=SessionChange)
async def reassign(
    session_id: str, body: ReassignBody, agent: ApiAgent, request: Request
) -> SessionChange:
    """Give the session to another agent (supervisors only)."""
    ticket = await handoffs(request).reassign(session_id, agent, body.agent)
    return _change(session_id, "agent", ticket, body.agent)


@router.post("/sessions/{session_id}/messages", response_model=MessageRead)
async def message(
    session_id: str, body: TextBody, agent: ApiAgent, request: Request
) -> MessageRead:
    """Say something to the merchant (sender `agent`)."""
    return await handoffs(request).reply(session_id, agent, body.text.strip())


@router.post("/sessions/{session_id}/notes", response_model=NoteRead)
async def note(session_id: str, body: TextBody, agent: ApiAgent, request: Request) -> NoteRead:
    """A private note: other agents see it, the merchant never does."""
    return await handoffs(request).note(session_id, agent, body.text.strip())


@router.post("/sessions/{session_id}/handback", response_model=SessionChange)
async def handback(session_id: str, agent: ApiAgent, request: Request) -> SessionChange:
    """Give the conversation back to the bot, which starts afresh and greets the merchant."""
    await handoffs(request).hand_back(session_id, agent)
    return SessionChange(session_id=session_id, status="bot")


@router.post("/sessions/{session_id}/resolve", response_model=SessionChange)
async def resolve(
    session_id: str, body: ResolveBody, agent: ApiAgent, request: Request
) -> SessionChange:
    """Resolve the ticket (code and note), hand back to the bot, ask the merchant to rate."""
    ticket = await handoffs(request).resolve(session_id, agent, body.resolution, body.note)
    return _change(session_id, "bot", ticket)
