"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from dropdesk.agent import service as agent_service
from dropdesk.agent.models import Agent
from dropdesk.auth.service import InvalidTokenError, is_internal_token, read_merchant_token
from dropdesk.config import Settings
from dropdesk.database import slots
from dropdesk.database.core import session_scope
from dropdesk.errors import NotAuthenticatedError

_bearer = HTTPBearer(auto_error=False)


# The light dependencies are async: a sync one takes a worker thread on every request.
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def database_slot() -> AsyncIterator[None]:
    """One of the process's database slots, held until the session below has committed."""
    async with slots.slot():
        yield


def get_db(
    settings: SettingsDep, _slot: Annotated[None, Depends(database_slot, scope="function")]
) -> Iterator[Session]:
    with session_scope(settings.database_url) as session:
        yield session


# Committed before the response leaves ("function" scope): with the default request scope the
# commit ran after the client had its answer, and a session id used at once could be 404.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def internal_caller(credentials: Credentials, settings: SettingsDep) -> None:
    if credentials is None or not is_internal_token(token=credentials.credentials,
                                                    settings=settings):  # fmt: skip
        raise NotAuthenticatedError("internal token missing or wrong")


async def current_merchant_no(credentials: Credentials, settings: SettingsDep) -> str:
    if credentials is None:
        raise NotAuthenticatedError("merchant token missing")
    try:
        return read_merchant_token(token=credentials.credentials, settings=settings)
    except InvalidTokenError as exc:
        raise NotAuthenticatedError("merchant token invalid or expired") from exc


InternalCaller = Annotated[None, Depends(internal_caller)]
CurrentMerchantNo = Annotated[str, Depends(current_merchant_no)]


def current_agent_by_token(credentials: Credentials, db_session: SessionDep) -> Agent:
    """The agent an API token (dropdesk agent token NAME) belongs to; merchant tokens fail."""
    if credentials is None:
        raise NotAuthenticatedError("agent token missing")
    agent = agent_service.by_api_token(db_session=db_session, token=credentials.credentials)
    if agent is None:
        raise NotAuthenticatedError("agent token invalid")
    return agent


ApiAgent = Annotated[Agent, Depends(current_agent_by_token)]
