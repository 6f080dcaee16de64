"""The async engine: one pool per process, resilient to a restarted Postgres."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any, TypeAlias

import asyncpg
import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn


def async_url(url: str) -> str:
    """Any postgres URL (`postgres://`, `postgresql://`, `postgresql+asyncpg://`) for asyncpg."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout (a BEGIN, a query and a ROLLBACK each time): a connection
        # that a Postgres restart closed is seen closed without a round trip (below).
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": "learntwin",
                "timezone": "UTC",
                "max_parallel_workers_per_gather": "0",
                # Statements are prepared once per connection and run many times; after
                # five runs Postgres may switch to a generic plan, chosen without the
                # parameters. For `= ANY($1)` over arrays of any length such a plan can
                # be many times slower (a course tree read went from 15 to 65 ms), so
                # every run is planned for its own values (the plan is cheap, the
                # statement stays prepared).
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose socket asyncpg has seen close (a restarted or stopped
    Postgres ends every session) is replaced by a fresh one, at no round trip's cost."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool for reads of one statement each: no BEGIN and ROLLBACK around them,
    one round trip per query. Each statement still sees one consistent snapshot."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def asyncpg_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a pooled one (COPY, and statements sent to the driver
    directly). Inside `engine.begin()` the transaction is begun first: SQLAlchemy begins
    it lazily, at its own first statement, so until then each statement sent to the
    driver would commit on its own (and an advisory lock end with it)."""
    pooled = await conn.get_raw_connection()
    raw = pooled.driver_connection
    assert isinstance(raw, asyncpg.Connection)
    adapted: Any = pooled.dbapi_connection
    if conn.in_transaction() and getattr(adapted, "_transaction", True) is None:
        await adapted._start_transaction()  # the BEGIN SQLAlchemy would send, sent now
    return raw


async def xact_lock(conn: AsyncConnection, key: str) -> None:
    """Hold the advisory lock named `key` until the transaction of `conn` ends."""
    raw = await asyncpg_connection(conn)
    await raw.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


# What a pooled connection that died since its last use raises on its first statement.
_DROPPED = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a termination notice arrived between statements
    ConnectionError,
)


# Where a read runs: the engine's pool, or the driver connection of a caller's transaction
# (see asyncpg_connection).
Target: TypeAlias = AsyncEngine | asyncpg.Connection


def json_text(value: Any) -> str:
    """A value for a JSONB parameter: the pool's connections take JSONB as text
    (SQLAlchemy's codec)."""
    return orjson.dumps(value).decode()


def sortable_id(prefix: str) -> str:
    """`prefix-`, the time in milliseconds, then random digits: ids sort by creation
    (two made in the same millisecond sort by their random digits)."""
    return f"{prefix}-{time.time_ns() // 1_000_000:012x}{secrets.token_hex(3)}"


def grouped(rows: Iterable[Any], key: str, value: str | None = None) -> dict[Any, list[Any]]:
    """Rows by the value of column `key`, in their order: each row as a dict, or only its
    column `value`."""
    found: dict[Any, list[Any]] = {}
    for row in rows:
        found.setdefault(row[key], []).append(dict(row) if value is None else row[value])
    return found


async def fetch(target: Target, sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of one read-only statement (`$1`, `$2`… parameters), run by asyncpg
    itself: on the given transaction's connection, or on a connection of the engine's
    pool outside any transaction (SQLAlchemy's
    connection, statement and result layers cost more than the query on the small reads
    behind a nested page). A pooled connection the server dropped since it was pooled is replaced
    and the statement run once more on a fresh one (safe: it only reads), instead of
    pinging every checkout. The engine's `before_cursor_execute` listeners still see each
    statement (tracing, the tests' statement counts), with no connection or cursor."""
    if isinstance(target, asyncpg.Connection):
        return await target.fetch(sql, *args)
    engine = target
    announce = engine.sync_engine.dispatch.before_cursor_execute
    for attempt in range(2):
        pooled = await engine.raw_connection()
        try:
            raw = pooled.driver_connection
            assert isinstance(raw, asyncpg.Connection)
            if announce:
                announce(None, None, sql, args, None, False)
            try:
                return await raw.fetch(sql, *args)
            except _DROPPED:
                pooled.invalidate()
                if attempt:
                    raise
        finally:
            # Back to the pool; no transaction was begun, so its reset awaits nothing.
            await greenlet_spawn(pooled.close)
    raise AssertionError("unreachable")


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
