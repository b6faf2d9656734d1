"""ticket.rating_comment, comment_requested_at; diagnosis_record's facts as columns

The merchant may leave a comment after rating a ticket. A diagnosis keeps, as it is made, the
order reference it was asked with, the merchant's messages in the session up to it, and its
first candidate's amount and terminal (the dashboard counts them); existing diagnoses are
backfilled from their JSON and the transcript.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dropdesk.database.core

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Messages up to the diagnosis, as record_diagnosis counts them when it makes one.
TURNS_SQL = """(SELECT count(*) FROM chat_message
    WHERE chat_message.session_id = diagnosis_record.session_id
      AND chat_message.sender = 'merchant'
      AND chat_message.created_at <= diagnosis_record.created_at)"""
FROM_JSON_SQL = {
    "postgresql": """order_ref = NULLIF(substr(query->>'order_ref', 1, 32), ''),
        amount_fen = CAST(CAST(candidates->0->>'amount' AS NUMERIC) * 100 AS BIGINT),
        terminal_no = substr(candidates->0->>'terminal_no', 1, 8)""",
    "sqlite": """order_ref = NULLIF(substr(CAST(json_extract(query, '$.order_ref') AS TEXT), 1, 32),
                            ''),
        amount_fen = CAST(ROUND(CAST(json_extract(candidates, '$[0].amount') AS REAL) * 100)
                          AS INTEGER),
        terminal_no = substr(json_extract(candidates, '$[0].terminal_no'), 1, 8)""",
}
# A period's diagnoses with everything the dashboard reads of them: an index-only scan.
FACTS = ["created_at", "session_id", "id", "code", "merchant_turns", "order_ref", "amount_fen",
         "terminal_no"]  # fmt: skip
# A period's conversations likewise, but for updated_at: it changes with every message, and
# an index on it would make each of those updates write every index of the table.
SESSIONS = ["created_at", "id", "channel", "merchant_id", "latest_diagnosis_id", "escalated",
            "amount_fen"]  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("comment_requested_at", dropdesk.database.core.UTCDateTime(),
                                   nullable=True))  # fmt: skip
        batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
    with op.batch_alter_table("diagnosis_record") as batch:
        batch.add_column(sa.Column("order_ref", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("merchant_turns", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("amount_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("terminal_no", sa.String(length=8), nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE diagnosis_record SET merchant_turns = {TURNS_SQL}, "
               f"{FROM_JSON_SQL[dialect]}")  # fmt: skip
    op.drop_index("ix_diagnosis_record_created", table_name="diagnosis_record")
    op.create_index("ix_diagnosis_record_facts", "diagnosis_record", FACTS)
    op.drop_index("ix_chat_session_created", table_name="chat_session")
    op.create_index("ix_chat_session_period", "chat_session", SESSIONS)


def downgrade() -> None:
    op.drop_index("ix_chat_session_period", table_name="chat_session")
    op.create_index("ix_chat_session_created", "chat_session", ["created_at"])
    op.drop_index("ix_diagnosis_record_facts", table_name="diagnosis_record")
    op.create_index("ix_diagnosis_record_created", "diagnosis_record", ["created_at"])
    with op.batch_alter_table("diagnosis_record") as batch:
        batch.drop_column("terminal_no")
        batch.drop_column("amount_fen")
        batch.drop_column("merchant_turns")
        batch.drop_column("order_ref")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("rating_comment")
        batch.drop_column("comment_requested_at")
