"""The migrations build exactly the tables the code declares."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from db.migrate import SchemaOutOfDate, current_revision, head_revision, require_current
from db.tables import metadata
from learntwin_graphql.app import create_app


async def test_database_is_at_head_and_matches_the_tables(runtime):
    assert await current_revision(runtime.engine) == head_revision()
    async with runtime.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata
            )
        )
    assert diff == []


async def test_serving_an_out_of_date_database_is_refused_with_a_clear_message(runtime, settings):
    head = head_revision()
    async with runtime.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    try:
        app = create_app(settings)
        with pytest.raises(SchemaOutOfDate, match=r"at migration 0006 .* run `learntwin migrate`"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        async with runtime.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    await require_current(runtime.engine)
