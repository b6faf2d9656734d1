"""Internal API for the action server, keyed by the Rasa sender id (= chat session id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dropdesk.conversation import service
from dropdesk.deps import InternalCaller, SessionDep, SettingsDep
from dropdesk.diagnosis import service as diagnosis_service
from dropdesk.diagnosis.models import DiagnosisQuery, DiagnosisRead, TerminalHealth
from dropdesk.handoff import service as handoff_service
from dropdesk.merchant.models import Merchant
from dropdesk.terminal import service as terminal_service
from dropdesk.ticket import service as ticket_service
from dropdesk.ticket.models import EscalationCreate, TicketCreated, TicketProgress, TicketStatus
from dropdesk.timezone import now_shanghai

router = APIRouter(prefix="/internal/v1/sessions", tags=["internal"])


class SessionDiagnosisQuery(BaseModel):
    """What the bot gathered; the merchant comes from the session, never from the caller."""

    order_ref: str | None = None
    time_from: str | None = None
    time_to: str | None = None
    amount: str | None = None
    card_last4: str | None = None
    terminal_no: str | None = None
    screen: str | None = None


class TerminalAdvice(TerminalHealth):
    latest_software_version: str


TICKET_NO = r"^[A-Za-z0-9\-]+$"  # what may be looked up: never SQL or free text
TicketNoQuery = Annotated[str | None, Query(max_length=20, pattern=TICKET_NO)]


class TicketLookup(BaseModel):
    """The query string of the ticket progress endpoint."""

    ticket_no: str | None = Field(default=None, max_length=20, pattern=TICKET_NO)


@router.post("/{session_id}/diagnoses", response_model=DiagnosisRead)
def diagnose_for_session(
    session_id: str,
    body: SessionDiagnosisQuery,
    db_session: SessionDep,
    settings: SettingsDep,
    _: InternalCaller,
) -> DiagnosisRead:
    """Diagnose with the session's merchant and keep the result as the session's latest."""
    chat = service.get(db_session=db_session, session_id=session_id)
    merchant = db_session.get_one(Merchant, chat.merchant_id)
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    query = DiagnosisQuery.model_validate({**fields, "merchant_no": merchant.merchant_no})
    result = diagnosis_service.diagnose(db_session=db_session, query=query, settings=settings)
    service.record_diagnosis(
        db_session=db_session, chat=chat, query=fields, diagnosis=result, now=now_shanghai()
    )
    return result


@router.post("/{session_id}/escalations", response_model=TicketCreated)
def escalate(
    session_id: str,
    body: EscalationCreate,
    db_session: SessionDep,
    settings: SettingsDep,
    _: InternalCaller,
) -> TicketCreated:
    """Open a ticket with the evidence, queue the session, and say where it stands."""
    now = now_shanghai()
    ticket = handoff_service.escalate(
        db_session=db_session,
        session_id=session_id,
        reason=body.reason,
        settings=settings,
        now=now,
    )
    position = handoff_service.queue_position(db_session=db_session, session_id=session_id) or 0
    is_open = handoff_service.is_open(settings, now)
    return TicketCreated(
        ticket_no=ticket.ticket_no,
        status=TicketStatus(ticket.status),
        priority=ticket.priority,
        queue_position=position,
        expected_wait_minutes=handoff_service.expected_wait_minutes(settings, position),
        offline=not is_open,
        next_opening=None if is_open else handoff_service.next_opening(settings, now),
    )


@router.get("/{session_id}/tickets", response_model=list[TicketProgress])
def ticket_progress(
    session_id: str, db_session: SessionDep, _: InternalCaller, ticket_no: TicketNoQuery = None
) -> list[TicketProgress]:
    """The session merchant's own tickets (newest first), or the one with this number."""
    chat = service.get(db_session=db_session, session_id=session_id)
    return ticket_service.progress_for_merchant(
        db_session=db_session, merchant_id=chat.merchant_id, ticket_no=ticket_no
    )


@router.get("/{session_id}/terminals", response_model=list[TerminalAdvice])
def terminals(
    session_id: str, db_session: SessionDep, settings: SettingsDep, _: InternalCaller
) -> list[TerminalAdvice]:
    """The session merchant's terminals, with the newest software version to compare."""
    chat = service.get(db_session=db_session, session_id=session_id)
    return [
        TerminalAdvice(
            **health.model_dump(), latest_software_version=settings.latest_terminal_software
        )
        for health in terminal_service.health_of_merchant(
            db_session=db_session, merchant_id=chat.merchant_id
        )
    ]
