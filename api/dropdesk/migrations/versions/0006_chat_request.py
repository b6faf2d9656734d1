"""chat_request: idempotency keys of merchant messages (one turn per key and session)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 12:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dropdesk.database.core

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_request",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("client_key", sa.String(length=100), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", dropdesk.database.core.UTCDateTime(), nullable=False),
        sa.Column("updated_at", dropdesk.database.core.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["chat_message.id"],
            name=op.f("fk_chat_request_message_id_chat_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_session.id"],
            name=op.f("fk_chat_request_session_id_chat_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_request")),
        sa.UniqueConstraint("session_id", "client_key", name="uq_chat_request_key"),
    )


def downgrade() -> None:
    op.drop_table("chat_request")
