"""The ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from dropdesk import errors, metrics
from dropdesk.attachment.limits import RequestBodyLimits
from dropdesk.attachment.views import router as attachment_router
from dropdesk.config import Settings, get_settings
from dropdesk.console.views import router as console_router
from dropdesk.conversation.delivery import Outbox
from dropdesk.conversation.flows import Turns
from dropdesk.conversation.internal_views import router as session_internal_router
from dropdesk.conversation.views import router as chat_router
from dropdesk.database import slots
from dropdesk.diagnosis.views import router as diagnosis_router
from dropdesk.dialogue.client import BotClient, RasaClient
from dropdesk.handoff.flows import Handoffs
from dropdesk.handoff.views import router as agent_api_router
from dropdesk.health import router as health_router
from dropdesk.limits import chat_rate_limit, rate_limiter
from dropdesk.logs import configure_logging
from dropdesk.pubsub.broadcast import Broadcast
from dropdesk.slip.flows import PhotoReading
from dropdesk.slip.views import router as slip_router
from dropdesk.wechat.channel import WeChatChannel
from dropdesk.wechat.views import bind_router as wechat_bind_router
from dropdesk.wechat.views import router as wechat_router
from dropdesk.widget.live import router as live_router
from dropdesk.widget.security import install_cors
from dropdesk.widget.views import portal_router
from dropdesk.widget.views import router as widget_router


def create_app(settings: Settings | None = None, bot: BotClient | None = None) -> FastAPI:
    """Build the service with every router and error mapping."""
    settings = settings or get_settings()
    # After uvicorn's own logging setup (it loads the app after): every logger, masked JSON.
    configure_logging(settings.log_level)
    slots.configure(settings.database_sessions)
    broadcast = Broadcast(settings.pubsub_url)
    bot_client = metrics.MeteredBot(
        bot or RasaClient(settings.rasa_url, settings.rasa_turn_limit_seconds,
                          token=settings.rasa_token, retry_seconds=settings.rasa_retry_seconds)
    )  # fmt: skip
    outbox = Outbox(broadcast)
    turns = Turns(settings=settings, bot=bot_client, outbox=outbox)
    metrics.observe_turns(turns)  # turns and their latency, counted from outside
    limiter = rate_limiter(settings)
    handoffs = Handoffs(settings=settings, turns=turns, outbox=outbox)
    # The WeChat official account is on when DROPDESK_WECHAT_TOKEN is set.
    wechat = WeChatChannel.from_settings(settings, turns) if settings.wechat_token else None
    if wechat is not None:
        outbox.senders["wechat"] = wechat
    # Photos sent while the bot holds a session are read (OCR, off the request path).
    photos = PhotoReading(turns)
    if settings.read_photos:
        photos.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        await broadcast.connect()
        sweeper = asyncio.create_task(handoffs.run_sweeper())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if wechat is not None:
                await wechat.close()
            photos.close()
            await turns.drain(timeout=5.0)  # turns still with the bot keep their replies
            await bot_client.close()
            if limiter is not None:
                await limiter.close()
            await broadcast.disconnect()

    app = FastAPI(title="DropDesk", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.broadcast = broadcast
    app.state.outbox = outbox
    app.state.turns = turns
    app.state.slip_reader = photos.reader
    app.state.handoffs = handoffs
    app.state.wechat = wechat
    app.state.rate_limiter = limiter
    app.add_middleware(
        RequestBodyLimits,
        max_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    # The console's queue of 1,000 rows is ~600 KiB of HTML and ~300 KiB of JSON: send it gzipped.
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    install_cors(app, settings)  # outermost, so refusals (413, 401) still carry CORS headers
    errors.install(app)
    routers = [health_router, diagnosis_router, session_internal_router, chat_router,
               attachment_router, live_router, widget_router, agent_api_router,
               console_router, slip_router]  # fmt: skip
    if wechat is not None:
        routers += [wechat_router, wechat_bind_router]
    if settings.env != "production":
        routers.append(portal_router)
    # Per-merchant rate limit on the chat API's POSTs; escalations counted once committed.
    limited = [Depends(chat_rate_limit)]
    dependencies = {
        id(chat_router): limited,
        id(attachment_router): limited,
        id(session_internal_router): [Depends(metrics.count_escalations, scope="function")],
    }
    for router in [*routers, metrics.router]:
        app.include_router(router, dependencies=dependencies.get(id(router)))
    return app
