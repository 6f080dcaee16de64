"""A class's records as CSV, straight from Postgres's COPY."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import asyncpg_connection

# Flags as 0/1 and UTC ISO-8601 timestamps, in the column order of the seed's export.
_EXPORT_QUERY = """
    SELECT id, class_id, student_id, stuck::int AS stuck, got_it::int AS got_it,
           pause::int AS pause, example::int AS example, confidence,
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS timestamp
    FROM metrics
    WHERE class_id = $1
      AND ($2::timestamptz IS NULL OR ts >= $2) AND ($3::timestamptz IS NULL OR ts < $3)
    ORDER BY ts, id
"""


async def export_csv(
    engine: AsyncEngine,
    class_id: str,
    start: datetime | None,
    end: datetime | None,
    sink: Callable[[bytes], Awaitable[None]],
) -> None:
    """Stream a class's records as CSV through `sink`, straight from COPY: the server
    never holds more than the chunks in flight, whatever the class size."""
    async with engine.connect() as conn:
        raw = await asyncpg_connection(conn)
        await raw.copy_from_query(
            _EXPORT_QUERY, class_id, start, end, output=sink, format="csv", header=True
        )
