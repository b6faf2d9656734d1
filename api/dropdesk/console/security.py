"""Console sign-in: a signed session cookie, CSRF tokens bound to it, and signed flash notes.

The cookie is a JWT (HS256, the service secret, its own audience) naming the agent, the
agent's session epoch (logout bumps it, so every older cookie stops working) and a random
login id. Each form carries HMAC(secret, login id): a page of another site cannot read it,
so it cannot post on the agent's behalf. The login form, before there is a login, is bound
the same way to a random value in a short-lived cookie of its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request, Response

from dropdesk.agent import service as agent_service
from dropdesk.agent.models import Agent
from dropdesk.config import Settings
from dropdesk.deps import SessionDep, SettingsDep
from dropdesk.errors import NotAuthenticatedError

COOKIE = "dropdesk_console"
LOGIN_COOKIE = "dropdesk_console_login"
FLASH_COOKIE = "dropdesk_console_flash"
COOKIE_PATH = "/console"
AUDIENCE = "dropdesk:console"
_ALGORITHM = "HS256"
LOGIN_FORM_SECONDS = 3600
FLASH_SECONDS = 60


@dataclass(frozen=True)
class ConsoleLogin:
    """What a valid console cookie says."""

    agent_id: int
    epoch: int
    login_id: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Viewer:
    """The signed-in agent and the CSRF token their forms carry."""

    agent: Agent
    login: ConsoleLogin
    csrf: str


def _mac(settings: Settings, purpose: str, value: str) -> str:
    key = settings.secret_key.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def issue(*, agent: Agent, settings: Settings, now: dt.datetime) -> str:
    """Sign a console cookie for an agent, valid for console_session_hours."""
    claims = {
        "sub": str(agent.id),
        "epoch": agent.session_epoch,
        "lid": secrets.token_urlsafe(16),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + dt.timedelta(hours=settings.console_session_hours),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


def read(*, token: str | None, settings: Settings) -> ConsoleLogin | None:
    """The login a cookie proves, or None if it is missing, forged, expired or another kind."""
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud", "epoch", "lid"]},
        )
        return ConsoleLogin(
            agent_id=int(claims["sub"]),
            epoch=int(claims["epoch"]),
            login_id=str(claims["lid"]),
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def csrf_token(*, login_id: str, settings: Settings) -> str:
    return _mac(settings, "console-csrf", login_id)


def csrf_ok(*, expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


def login_form_token(*, nonce: str, settings: Settings) -> str:
    return _mac(settings, "console-login", nonce)


def _cookie(response: Response, name: str, value: str, max_age: int, settings: Settings) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )


def set_login_cookie(response: Response, token: str, settings: Settings) -> None:
    _cookie(response, COOKIE, token, settings.console_session_hours * 3600, settings)


def forget(response: Response, name: str, settings: Settings) -> None:
    """Delete one of our cookies (with the attributes it was set with)."""
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="lax", secure=settings.env == "production"
    )


def login_form_nonce(request: Request) -> tuple[str, bool]:
    """The login form's nonce from its cookie, or a new one; and whether it is new."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if nonce and len(nonce) <= 64:
        return nonce, False
    return secrets.token_urlsafe(16), True


def set_login_form_nonce(response: Response, nonce: str, settings: Settings) -> None:
    _cookie(response, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS, settings)


# --- flash notes: one line shown on the next page after an action -----------------------------


def set_flash(response: Response, kind: str, text: str, settings: Settings) -> None:
    """Carry a note to the next page; signed, so no other site can plant words in the console."""
    body = base64.urlsafe_b64encode(json.dumps([kind, text]).encode()).decode()
    _cookie(response, FLASH_COOKIE, f"{body}.{_mac(settings, 'flash', body)}", FLASH_SECONDS,
            settings)  # fmt: skip


def take_flash(request: Request, settings: Settings) -> tuple[str, str] | None:
    """The flash note of this request, if any and genuine (the caller clears the cookie)."""
    raw = request.cookies.get(FLASH_COOKIE, "")
    body, _, mac = raw.rpartition(".")
    if not body or not hmac.compare_digest(mac.encode(), _mac(settings, "flash", body).encode()):
        return None
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(body))
    except (ValueError, TypeError):
        return None
    return str(kind), str(text)


# --- dependencies -----------------------------------------------------------------------------


def viewer_or_none(request: Request, settings: SettingsDep, db_session: SessionDep
                   ) -> Viewer | None:  # fmt: skip
    """The signed-in agent, if the cookie is valid and the agent has not logged out since."""
    login = read(token=request.cookies.get(COOKIE), settings=settings)
    if login is None:
        return None
    agent = agent_service.get_active(db_session=db_session, agent_id=login.agent_id)
    if agent is None or agent.session_epoch != login.epoch:
        return None
    return Viewer(
        agent=agent, login=login, csrf=csrf_token(login_id=login.login_id, settings=settings)
    )


MaybeViewer = Annotated[Viewer | None, Depends(viewer_or_none)]


def signed_in(viewer: MaybeViewer) -> Viewer:
    """For live endpoints and actions: 401 rather than a redirect."""
    if viewer is None:
        raise NotAuthenticatedError("请先登录客服工作台")
    return viewer


ConsoleViewer = Annotated[Viewer, Depends(signed_in)]
