"""The little the console asks of the database beyond the handoff services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.agent.models import Agent
from dropdesk.conversation.models import ChatSession, SessionStatus


def holder(*, db_session: Session, session_id: str) -> str | None:
    """The name of the agent who holds the session now, if an agent does."""
    return db_session.scalar(
        select(Agent.name)
        .join(ChatSession, ChatSession.assignee_id == Agent.id)
        .where(ChatSession.id == session_id, ChatSession.status == SessionStatus.AGENT)
    )


def log_out(*, agent: Agent) -> None:
    """End every console login of the agent: cookies carry the epoch they were signed with."""
    agent.session_epoch += 1
