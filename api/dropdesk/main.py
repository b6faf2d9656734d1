"""The ASGI application."""

from __future__ import annotations

from fastapi import FastAPI

from dropdesk import errors
from dropdesk.card import install_log_masking
from dropdesk.config import Settings, get_settings
from dropdesk.diagnosis.views import router as diagnosis_router
from dropdesk.health import router as health_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service with every router and error mapping."""
    settings = settings or get_settings()
    install_log_masking()
    app = FastAPI(title="DropDesk", version="0.1.0")
    app.state.settings = settings
    errors.install(app)
    app.include_router(health_router)
    app.include_router(diagnosis_router)
    return app
