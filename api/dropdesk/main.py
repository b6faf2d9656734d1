"""The ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dropdesk import errors
from dropdesk.card import install_log_masking
from dropdesk.config import Settings, get_settings
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.internal_views import router as session_internal_router
from dropdesk.conversation.views import router as chat_router
from dropdesk.diagnosis.views import router as diagnosis_router
from dropdesk.dialogue.client import BotClient, RasaClient
from dropdesk.health import router as health_router
from dropdesk.limits import BodySizeLimit
from dropdesk.pubsub.broadcast import Broadcast


def create_app(settings: Settings | None = None, bot: BotClient | None = None) -> FastAPI:
    """Build the service with every router and error mapping."""
    settings = settings or get_settings()
    install_log_masking()
    broadcast = Broadcast(settings.pubsub_url)
    bot_client = bot or RasaClient(settings.rasa_url, settings.rasa_timeout_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broadcast.connect()
        try:
            yield
        finally:
            await bot_client.close()
            await broadcast.disconnect()

    app = FastAPI(title="DropDesk", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.broadcast = broadcast
    app.state.turns = Turns(database_url=settings.database_url, bot=bot_client, broadcast=broadcast)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    errors.install(app)
    for router in (health_router, diagnosis_router, session_internal_router, chat_router):
        app.include_router(router)
    return app
