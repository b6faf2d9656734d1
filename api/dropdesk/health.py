"""Liveness and readiness for `make run` and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from dropdesk.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(db_session: SessionDep) -> dict[str, str]:
    """Answer ok when the database answers."""
    db_session.execute(text("SELECT 1"))
    return {"status": "ok"}
