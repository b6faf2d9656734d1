"""Merchant tokens (signed, expiring) and the shared internal token."""

from __future__ import annotations

import datetime as dt
import hmac

import jwt

from dropdesk.config import Settings

_ALGORITHM = "HS256"
_AUDIENCE = "dropdesk:merchant"


class InvalidTokenError(Exception):
    """A token is missing, forged, expired or of the wrong kind."""


def issue_merchant_token(
    *, merchant_no: str, settings: Settings, ttl: dt.timedelta | None = None
) -> str:
    """Sign a token that identifies one merchant to the chat API and the widget."""
    now = dt.datetime.now(dt.UTC)
    ttl = ttl or dt.timedelta(hours=settings.merchant_token_ttl_hours)
    claims = {"sub": merchant_no, "aud": _AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


def read_merchant_token(*, token: str, settings: Settings) -> str:
    """Return the merchant number a valid token names."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    return str(claims["sub"])


def is_internal_token(*, token: str, settings: Settings) -> bool:
    """Compare a caller's token with the shared internal token in constant time."""
    return hmac.compare_digest(token.encode(), settings.internal_token.encode())
