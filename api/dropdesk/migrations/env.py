"""Alembic environment: the URL comes from the caller or from DROPDESK_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from dropdesk.config import get_settings
from dropdesk.database.core import get_engine
from dropdesk.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_migrations_online() -> None:
    with get_engine(url).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
