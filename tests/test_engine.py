"""Reads run by asyncpg on pooled connections (db.engine.fetch) against a real Postgres."""

from __future__ import annotations

import asyncpg
from sqlalchemy import event

from db.engine import asyncpg_connection, autocommit, create_engine, fetch


async def test_a_read_after_the_server_ended_the_pooled_connection_succeeds(services):
    engine = create_engine(services.database_url, pool_size=1)
    reads = autocommit(engine)
    try:
        first = (await fetch(reads, "SELECT pg_backend_pid()"))[0][0]
        other = await asyncpg.connect(services.database_url.replace("+asyncpg", ""))
        try:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await other.close()
        rows = await fetch(reads, "SELECT pg_backend_pid(), $1::int + 1", 41)
        assert rows[0][0] != first and rows[0][1] == 42
    finally:
        await engine.dispose()


async def test_reads_are_seen_by_statement_listeners(services):
    engine = create_engine(services.database_url, pool_size=1)
    reads = autocommit(engine)
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        rows = await fetch(reads, "SELECT $1::text || 'b'", "a")
        assert rows[0][0] == "ab"
        assert seen.count("SELECT $1::text || 'b'") == 1
    finally:
        await engine.dispose()


async def test_driver_statements_inside_begin_share_its_transaction(services):
    engine = create_engine(services.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            raw = await asyncpg_connection(conn)
            assert raw.is_in_transaction()
            await raw.execute("CREATE TEMP TABLE IF NOT EXISTS engine_tx (n int)")  # pool of one
        try:
            async with engine.begin() as conn:
                await (await asyncpg_connection(conn)).execute("INSERT INTO engine_tx VALUES (1)")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        async with engine.connect() as conn:
            raw = await asyncpg_connection(conn)
            assert await raw.fetchval("SELECT count(*) FROM engine_tx") == 0
    finally:
        await engine.dispose()
