"""attachment.reading: what the slip reader saw on a photo (fields, status, the masked text)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("reading", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("reading")
