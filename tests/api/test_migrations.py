"""The migrations build exactly the schema the models declare, and undo it."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dropdesk.database.core import get_engine
from dropdesk.database.migrate import alembic_config, upgrade
from dropdesk.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_takeover_migration_goes_down_and_up(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/down.db"
    upgrade(url)
    command.downgrade(alembic_config(url), "0003")
    upgrade(url)
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
