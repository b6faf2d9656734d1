"""Agents and escalated sessions for the takeover tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dropdesk.agent import service as agent_service
from dropdesk.agent.models import AgentCreate, AgentRole
from dropdesk.config import Settings
from dropdesk.database.core import session_scope
from dropdesk.timezone import now_shanghai
from tests.api.conftest import auth, open_session
from tests.api.factories import MERCHANT_A


def make_agent(settings: Settings, name: str, role: AgentRole = AgentRole.AGENT) -> str:
    """Create an agent; return its API token as an Authorization header value."""
    with session_scope(settings.database_url) as db:
        agent = agent_service.create(
            db_session=db,
            spec=AgentCreate(name=name, role=role, password="correct horse battery"),
            now=now_shanghai(),
        )
        return f"Bearer {agent_service.issue_api_token(db_session=db, agent=agent)}"


def internal(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.internal_token}"}


def escalated_session(client: TestClient, settings: Settings, merchant: str = MERCHANT_A,
                      reason: str = "merchant_request") -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A session the bot has handed to the queue; returns (session id, escalation answer)."""
    sid = open_session(client, settings, merchant)
    client.post(f"/api/v1/sessions/{sid}/messages", json={"text": "转人工"},
                headers=auth(settings, merchant))  # fmt: skip
    answer = client.post(f"/internal/v1/sessions/{sid}/escalations", headers=internal(settings),
                         json={"reason": reason})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return sid, answer.json()
