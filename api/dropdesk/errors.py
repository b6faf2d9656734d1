"""Domain errors and the one place they become HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class NotAuthenticatedError(Exception):
    """The caller did not prove who it is."""


class NotFoundError(LookupError):
    """The thing does not exist, or is not the caller's to see."""


class InvalidInputError(ValueError):
    """The request is well-formed but its content is not acceptable (message shown as is)."""


class RequestTooLargeError(Exception):
    """The request body is over the configured limit."""


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install(app: FastAPI) -> None:
    """Register the mapping from domain errors to HTTP responses."""
    from dropdesk.diagnosis.service import UnknownMerchantError

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
