"""Internal API for the action server, keyed by the Rasa sender id (= chat session id)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from dropdesk.conversation import service
from dropdesk.deps import InternalCaller, SessionDep, SettingsDep
from dropdesk.diagnosis import service as diagnosis_service
from dropdesk.diagnosis.models import DiagnosisQuery, DiagnosisRead, TerminalHealth
from dropdesk.merchant.models import Merchant
from dropdesk.terminal import service as terminal_service
from dropdesk.ticket import service as ticket_service
from dropdesk.ticket.models import EscalationCreate, TicketCreated

router = APIRouter(prefix="/internal/v1/sessions", tags=["internal"])


class SessionDiagnosisQuery(BaseModel):
    """What the bot gathered; the merchant comes from the session, never from the caller."""

    order_ref: str | None = None
    time_from: str | None = None
    time_to: str | None = None
    amount: str | None = None
    card_last4: str | None = None


class TerminalAdvice(TerminalHealth):
    latest_software_version: str


@router.post("/{session_id}/diagnoses", response_model=DiagnosisRead)
def diagnose_for_session(
    session_id: str,
    body: SessionDiagnosisQuery,
    db_session: SessionDep,
    settings: SettingsDep,
    _: InternalCaller,
) -> DiagnosisRead:
    """Diagnose with the session's merchant and keep evidence and result on the session."""
    chat = service.get(db_session=db_session, session_id=session_id)
    merchant = db_session.get_one(Merchant, chat.merchant_id)
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    query = DiagnosisQuery.model_validate({**fields, "merchant_no": merchant.merchant_no})
    result = diagnosis_service.diagnose(db_session=db_session, query=query, settings=settings)
    service.record_diagnosis(
        db_session=db_session, chat=chat, query=fields, diagnosis=result.model_dump(mode="json")
    )
    return result


@router.post("/{session_id}/escalations", response_model=TicketCreated)
def escalate(
    session_id: str, body: EscalationCreate, db_session: SessionDep, _: InternalCaller
) -> TicketCreated:
    """Open a ticket with the evidence and queue the session for a person."""
    chat = service.get(db_session=db_session, session_id=session_id)
    ticket = ticket_service.open_ticket(db_session=db_session, chat=chat, reason=body.reason)
    return TicketCreated(ticket_no=ticket.ticket_no or "", status="queued")


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
