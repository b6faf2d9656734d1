"""Domain errors and the one place they become HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dropdesk import messages

log = logging.getLogger(__name__)


class NotAuthenticatedError(Exception):
    """The caller did not prove who it is."""


class NotFoundError(LookupError):
    """The thing does not exist, or is not the caller's to see."""


class InvalidInputError(ValueError):
    """The request is well-formed but its content is not acceptable (message shown as is)."""


class ConflictError(Exception):
    """The thing changed under the caller (someone else claimed it, it is no longer open)."""


class ForbiddenError(Exception):
    """The caller is known but may not do this."""


class TooManyRequestsError(Exception):
    """The caller asked too often; the message says when to try again."""

    def __init__(self, message: str = "", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, sent as the Retry-After header


class RequestTooLargeError(Exception):
    """The request body is over the configured limit."""


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (down, restarting, pool exhausted), as opposed to a
    query that is wrong: only the first is worth a retry."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install(app: FastAPI) -> None:
    """Register the mapping from domain errors to HTTP responses."""
    from dropdesk.diagnosis.service import UnknownMerchantError
    from dropdesk.dialogue.client import BotUnavailableError

    @app.exception_handler(BotUnavailableError)
    async def _bot_unavailable(_: Request, exc: BotUnavailableError) -> JSONResponse:
        return _error(503, "bot_unavailable", "机器人暂时不可用，请稍后再试。")

    @app.exception_handler(SQLAlchemyError)
    async def _database(_: Request, exc: SQLAlchemyError) -> Response:
        # The database is down or restarting: say so plainly (503, retry later) rather than
        # a bare 500. What failed was not kept (its transaction rolled back), so the client
        # retries the same request; an Idempotency-Key makes that retry safe.
        if not database_unavailable(exc):
            raise exc
        log.warning("database unavailable: %s", exc.__class__.__name__)
        response = _error(503, "service_unavailable", messages.SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(NotAuthenticatedError)
    async def _unauthenticated(_: Request, exc: NotAuthenticatedError) -> JSONResponse:
        response = _error(401, "not_authenticated", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, "not_found", str(exc) or "not found")

    @app.exception_handler(UnknownMerchantError)
    async def _unknown_merchant(_: Request, exc: UnknownMerchantError) -> JSONResponse:
        return _error(404, "unknown_merchant", f"no merchant {exc}")

    @app.exception_handler(InvalidInputError)
    async def _invalid_input(_: Request, exc: InvalidInputError) -> JSONResponse:
        return _error(422, "invalid_input", str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return _error(409, "conflict", str(exc))

    @app.exception_handler(ForbiddenError)
    async def _forbidden(_: Request, exc: ForbiddenError) -> JSONResponse:
        return _error(403, "forbidden", str(exc))

    @app.exception_handler(TooManyRequestsError)
    async def _throttled(_: Request, exc: TooManyRequestsError) -> JSONResponse:
        response = _error(429, "throttled", str(exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestTooLargeError)
    async def _too_large(_: Request, exc: RequestTooLargeError) -> JSONResponse:
        return _error(413, "too_large", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": "请求内容有误", "details": details}},
            status_code=422,
        )
