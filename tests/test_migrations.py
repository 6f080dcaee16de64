"""The migrations build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from db.migrate import current_revision, head_revision
from db.tables import metadata


async def test_database_is_at_head_and_matches_the_tables(runtime):
    assert await current_revision(runtime.engine) == head_revision()
    async with runtime.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )
    assert diff == []
