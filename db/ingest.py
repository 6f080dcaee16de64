"""The bulk ingest of metric records, with their hourly and daily rollups in the same
transaction, so the rollups can never disagree with the raw rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import asyncpg_connection
from ml.metrics import MetricRecord


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    class_ids: tuple[str, ...]
    # The event ids of the records stored now (not those already known).
    stored_event_ids: frozenset[str] = frozenset()


# Work done inside the ingest's transaction once the records are stored (the learner
# model's evidence), given the connection and the event ids just stored.
Within = Callable[[AsyncConnection, frozenset[str]], Awaitable[None]]


# Classes, students and memberships in one round trip (the foreign keys are checked at
# the end of the statement, after the CTEs have inserted the parents).
_INSERT_MEMBERSHIP = text(
    """
    WITH pairs AS (
        SELECT * FROM unnest(CAST(:class_ids AS text[]), CAST(:student_ids AS text[]))
            AS p(class_id, student_id)
    ),
    c AS (
        INSERT INTO classes (id) SELECT DISTINCT class_id FROM pairs ORDER BY 1
        ON CONFLICT DO NOTHING
    ),
    s AS (
        INSERT INTO students (id) SELECT DISTINCT student_id FROM pairs ORDER BY 1
        ON CONFLICT DO NOTHING
    )
    INSERT INTO class_students (class_id, student_id)
    SELECT class_id, student_id FROM pairs ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    """
)
_ROLLUP_COLUMNS = (
    "class_id, bucket, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts"
)
_ADD_TO_ROLLUP = """
    n = r.n + excluded.n,
    stuck = r.stuck + excluded.stuck,
    got_it = r.got_it + excluded.got_it,
    pause = r.pause + excluded.pause,
    example = r.example + excluded.example,
    confidence_sum = r.confidence_sum + excluded.confidence_sum,
    last_ts = greatest(r.last_ts, excluded.last_ts)
"""


def _fold_into_rollups(hourly_rows: str) -> str:
    """CTEs adding the hourly rows of relation `hourly_rows` to both rollup levels."""
    return f"""
    hourly AS (
        INSERT INTO metric_rollups AS r ({_ROLLUP_COLUMNS})
        SELECT * FROM {hourly_rows} ORDER BY 1, 2, 3
        ON CONFLICT (class_id, bucket, student_id) DO UPDATE SET {_ADD_TO_ROLLUP}
    ),
    daily AS (
        INSERT INTO metric_rollups_daily AS r ({_ROLLUP_COLUMNS})
        SELECT class_id, date_trunc('day', bucket, 'UTC'), student_id, sum(n), sum(stuck),
               sum(got_it), sum(pause), sum(example), sum(confidence_sum), max(last_ts)
        FROM {hourly_rows} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (class_id, bucket, student_id) DO UPDATE SET {_ADD_TO_ROLLUP}
    )
    """


# One statement stores the records (skipping known event ids) and folds exactly the
# stored ones into the rollups, so rollups and raw rows can never disagree.
_INSERT_METRICS = text(
    f"""
    WITH src AS (
        SELECT * FROM unnest(
            CAST(:class_id AS text[]), CAST(:student_id AS text[]),
            CAST(:stuck AS boolean[]), CAST(:got_it AS boolean[]),
            CAST(:pause AS boolean[]), CAST(:example AS boolean[]),
            CAST(:confidence AS double precision[]), CAST(:ts AS timestamptz[]),
            CAST(:event_id AS text[])
        ) AS s(class_id, student_id, stuck, got_it, pause, example, confidence, ts, event_id)
    ),
    ins AS (
        INSERT INTO metrics (class_id, student_id, stuck, got_it, pause, example, confidence, ts, event_id)
        SELECT * FROM src
        ON CONFLICT (event_id) WHERE event_id IS NOT NULL DO NOTHING
        RETURNING class_id, student_id, stuck, got_it, pause, example, confidence, ts, event_id
    ),
    agg AS (
        SELECT class_id, date_trunc('hour', ts, 'UTC') AS bucket, student_id,
               count(*) AS n, count(*) FILTER (WHERE stuck) AS stuck,
               count(*) FILTER (WHERE got_it) AS got_it, count(*) FILTER (WHERE pause) AS pause,
               count(*) FILTER (WHERE example) AS example,
               sum(confidence) AS confidence_sum, max(ts) AS last_ts
        FROM ins GROUP BY 1, 2, 3
    ),
    {_fold_into_rollups("agg")}
    SELECT count(*) AS accepted,
           coalesce(array_agg(DISTINCT class_id), CAST('{{}}' AS text[])) AS class_ids,
           coalesce(array_agg(event_id) FILTER (WHERE event_id IS NOT NULL),
                    CAST('{{}}' AS text[])) AS stored_event_ids
    FROM ins
    """
)
# The COPY path sums the hourly rows in Python and folds them in with this.
_UPSERT_ROLLUPS = text(
    f"""
    WITH agg AS (
        SELECT * FROM unnest(
            CAST(:class_id AS text[]), CAST(:bucket AS timestamptz[]), CAST(:student_id AS text[]),
            CAST(:n AS int[]), CAST(:stuck AS int[]), CAST(:got_it AS int[]), CAST(:pause AS int[]),
            CAST(:example AS int[]), CAST(:confidence_sum AS double precision[]),
            CAST(:last_ts AS timestamptz[])
        ) AS a({_ROLLUP_COLUMNS})
    ),
    {_fold_into_rollups("agg")}
    SELECT 1
    """
)
# MetricRecord's fields in the metrics table's column order; COPY leaves out event_id.
_RECORD_COLUMNS = (
    "class_id",
    "student_id",
    "stuck",
    "got_it",
    "pause",
    "example",
    "confidence",
    "ts",
    "event_id",
)
_COPY_COLUMNS = list(_RECORD_COLUMNS[:-1])


async def _insert_membership(conn: AsyncConnection, pairs: list[tuple[str, str]]) -> None:
    await conn.execute(
        _INSERT_MEMBERSHIP,
        {"class_ids": [c for c, _ in pairs], "student_ids": [s for _, s in pairs]},
    )


def _rollups(records: Sequence[MetricRecord]) -> dict[str, list[Any]]:
    """The hourly rollup rows of a batch, summed here (timestamps are UTC)."""
    agg: dict[tuple[str, int, int, int, int, str], list[Any]] = {}
    for r in records:
        ts = r.ts
        # Plain attributes make a cheaper key than a truncated datetime per record.
        key = (r.class_id, ts.year, ts.month, ts.day, ts.hour, r.student_id)
        a = agg.get(key)
        if a is None:
            agg[key] = a = [0, 0, 0, 0, 0, 0.0, ts]
        a[0] += 1
        a[1] += r.stuck
        a[2] += r.got_it
        a[3] += r.pause
        a[4] += r.example
        a[5] += r.confidence
        if r.ts > a[6]:
            a[6] = r.ts
    keys = sorted(agg)
    out: dict[str, list[Any]] = {
        "class_id": [k[0] for k in keys],
        "bucket": [datetime(k[1], k[2], k[3], k[4], tzinfo=UTC) for k in keys],
        "student_id": [k[5] for k in keys],
    }
    for i, name in enumerate(
        ("n", "stuck", "got_it", "pause", "example", "confidence_sum", "last_ts")
    ):
        out[name] = [agg[k][i] for k in keys]
    return out


async def ingest(
    engine: AsyncEngine, records: Sequence[MetricRecord], within: Within | None = None
) -> IngestResult:
    """Store valid records in one transaction; records whose event id is known are
    skipped. `within` runs in the same transaction, after the records are stored."""
    if not records:
        return IngestResult(0, 0, ())
    if all(r.event_id is None for r in records):
        return await _ingest_copy(engine, records, within)
    params = {name: [getattr(r, name) for r in records] for name in _RECORD_COLUMNS}
    pairs = sorted({(r.class_id, r.student_id) for r in records})
    async with engine.begin() as conn:
        await _insert_membership(conn, pairs)
        row = (await conn.execute(_INSERT_METRICS, params)).one()
        stored = frozenset(row.stored_event_ids)
        if within is not None:
            await within(conn, stored)
    accepted = int(row.accepted)
    return IngestResult(accepted, len(records) - accepted, tuple(sorted(row.class_ids)), stored)


async def _ingest_copy(
    engine: AsyncEngine, records: Sequence[MetricRecord], within: Within | None
) -> IngestResult:
    """No event ids, so nothing can conflict: binary COPY, rollups summed here."""
    pairs = sorted({(r.class_id, r.student_id) for r in records})
    rows = [
        (r.class_id, r.student_id, r.stuck, r.got_it, r.pause, r.example, r.confidence, r.ts)
        for r in records
    ]
    async with engine.begin() as conn:
        await _insert_membership(conn, pairs)
        raw = await asyncpg_connection(conn)
        await raw.copy_records_to_table("metrics", records=rows, columns=_COPY_COLUMNS)
        await conn.execute(_UPSERT_ROLLUPS, _rollups(records))
        if within is not None:
            await within(conn, frozenset())
    return IngestResult(len(records), 0, tuple(sorted({c for c, _ in pairs})))
