"""Internal HTTP API for the action server: run a diagnosis."""

from __future__ import annotations

from fastapi import APIRouter

from dropdesk.deps import InternalCaller, SessionDep, SettingsDep
from dropdesk.diagnosis import service
from dropdesk.diagnosis.models import DiagnosisQuery, DiagnosisRead

router = APIRouter(prefix="/internal/v1", tags=["internal"])


@router.post("/diagnoses", response_model=DiagnosisRead)
def create_diagnosis(
    query: DiagnosisQuery, db_session: SessionDep, settings: SettingsDep, _: InternalCaller
) -> DiagnosisRead:
    """Diagnose a dropped transaction for the merchant the query names."""
    return service.diagnose(db_session=db_session, query=query, settings=settings)
