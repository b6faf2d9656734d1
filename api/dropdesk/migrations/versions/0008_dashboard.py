"""dashboard: the indexes the supervisor dashboard's aggregates read through

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As in dropdesk/dashboard/indexes.py (a migration keeps its own copy: it must not change).
MERCHANT_SQL = "sender = 'merchant'"
SOLVED_SQL = "sender = 'bot' AND text = '太好了！以后再遇到掉单随时找我。'"
TO_AGENT_SQL = "to_status = 'agent'"


def _partial(sql: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(sql), "postgresql_where": sa.text(sql)}


def upgrade() -> None:
    op.create_index("ix_chat_session_created", "chat_session", ["created_at"])
    op.create_index("ix_diagnosis_record_created", "diagnosis_record", ["created_at"])
    op.create_index("ix_ticket_created", "ticket", ["created_at"])
    op.create_index("ix_ticket_session", "ticket", ["session_id", "id"])
    op.create_index("ix_chat_message_merchant_turn", "chat_message",
                    ["session_id", "created_at"], **_partial(MERCHANT_SQL))  # fmt: skip
    op.create_index("ix_chat_message_solved", "chat_message", ["created_at", "session_id"],
                    **_partial(SOLVED_SQL))  # fmt: skip
    op.create_index("ix_session_transition_to_agent", "session_transition",
                    ["session_id", "created_at"], **_partial(TO_AGENT_SQL))  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_session_transition_to_agent", table_name="session_transition")
    op.drop_index("ix_chat_message_solved", table_name="chat_message")
    op.drop_index("ix_chat_message_merchant_turn", table_name="chat_message")
    op.drop_index("ix_ticket_session", table_name="ticket")
    op.drop_index("ix_ticket_created", table_name="ticket")
    op.drop_index("ix_diagnosis_record_created", table_name="diagnosis_record")
    op.drop_index("ix_chat_session_created", table_name="chat_session")
