"""Agents: accounts, passwords (argon2), API tokens and login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.agent.models import Agent, AgentCreate
from dropdesk.errors import ConflictError

_hasher = PasswordHasher()
# Verified against for unknown names, so a login takes as long whether or not the name exists.
_DUMMY_HASH = _hasher.hash("dropdesk-no-such-agent")
TOKEN_PREFIX = "dda_"
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


class LoginLockedError(Exception):
    """Too many failed logins: the account is locked until a time."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


def create(*, db_session: Session, spec: AgentCreate, now: dt.datetime) -> Agent:
    """Create an agent account with an argon2 password hash."""
    if db_session.scalar(select(Agent.id).where(Agent.name == spec.name)) is not None:
        raise ConflictError(f"agent {spec.name} already exists")
    agent = Agent(
        name=spec.name,
        role=spec.role,
        password_hash=_hasher.hash(spec.password),
        session_epoch=0,
        failed_logins=0,
        active=True,
        created_at=now,
    )
    db_session.add(agent)
    db_session.flush()
    return agent


def set_password(*, db_session: Session, agent: Agent, password: str) -> None:
    agent.password_hash = _hasher.hash(password)
    agent.session_epoch += 1


def get_by_name(*, db_session: Session, name: str) -> Agent | None:
    return db_session.scalar(select(Agent).where(Agent.name == name))


def get_active(*, db_session: Session, agent_id: int) -> Agent | None:
    agent = db_session.get(Agent, agent_id)
    return agent if agent is not None and agent.active else None


def authenticate(
    *, db_session: Session, name: str, password: str, now: dt.datetime
) -> Agent | None:
    """The agent if the password is right; counts failures and locks after too many."""
    agent = get_by_name(db_session=db_session, name=name)
    if agent is None or not agent.active:
        _verify(_DUMMY_HASH, password)
        return None
    if agent.locked_until is not None and agent.locked_until > now:
        raise LoginLockedError(agent.locked_until)
    if not _verify(agent.password_hash, password):
        agent.failed_logins += 1
        if agent.failed_logins >= MAX_FAILED_LOGINS:
            agent.locked_until = now + LOCKOUT
            agent.failed_logins = 0
        return None
    agent.failed_logins = 0
    agent.locked_until = None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(*, db_session: Session, agent: Agent) -> str:
    """A new API token for the agent (the old one stops working); only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    agent.api_token_hash = _token_hash(token)
    return token


def by_api_token(*, db_session: Session, token: str) -> Agent | None:
    """The active agent an API token belongs to."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    return db_session.scalar(
        select(Agent).where(Agent.api_token_hash == _token_hash(token), Agent.active)
    )


def all_active(*, db_session: Session) -> list[Agent]:
    return list(db_session.scalars(select(Agent).where(Agent.active).order_by(Agent.name)))
