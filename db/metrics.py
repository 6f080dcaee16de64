"""Learning metrics: the bulk ingest path with its rollups, and the reads over them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ml.metrics import MasteryStats, MetricRecord

__all__ = [
    "IngestResult",
    "MasteryStats",
    "MetricRecord",
    "empty_mastery",
    "ingest",
    "mastery",
    "metric_pages",
]


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    class_ids: tuple[str, ...]


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
# One statement stores the records (skipping known event ids) and folds exactly the
# stored ones into the hourly rollups, so rollups and raw rows can never disagree.
_INSERT_METRICS = text(
    """
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
        RETURNING class_id, student_id, stuck, got_it, pause, example, confidence, ts
    ),
    agg AS (
        SELECT class_id, date_trunc('hour', ts, 'UTC') AS bucket, student_id,
               count(*) AS n, count(*) FILTER (WHERE stuck) AS stuck,
               count(*) FILTER (WHERE got_it) AS got_it, count(*) FILTER (WHERE pause) AS pause,
               count(*) FILTER (WHERE example) AS example,
               sum(confidence) AS confidence_sum, max(ts) AS last_ts
        FROM ins GROUP BY 1, 2, 3
    ),
    up AS (
        INSERT INTO metric_rollups AS r
            (class_id, bucket, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts)
        SELECT * FROM agg ORDER BY 1, 2, 3
        ON CONFLICT (class_id, bucket, student_id) DO UPDATE SET
            n = r.n + excluded.n,
            stuck = r.stuck + excluded.stuck,
            got_it = r.got_it + excluded.got_it,
            pause = r.pause + excluded.pause,
            example = r.example + excluded.example,
            confidence_sum = r.confidence_sum + excluded.confidence_sum,
            last_ts = greatest(r.last_ts, excluded.last_ts)
    )
    SELECT count(*) AS accepted,
           coalesce(array_agg(DISTINCT class_id), CAST('{}' AS text[])) AS class_ids
    FROM ins
    """
)


_UPSERT_ROLLUPS = text(
    """
    INSERT INTO metric_rollups AS r
        (class_id, bucket, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts)
    SELECT * FROM unnest(
        CAST(:class_id AS text[]), CAST(:bucket AS timestamptz[]), CAST(:student_id AS text[]),
        CAST(:n AS int[]), CAST(:stuck AS int[]), CAST(:got_it AS int[]), CAST(:pause AS int[]),
        CAST(:example AS int[]), CAST(:confidence_sum AS double precision[]),
        CAST(:last_ts AS timestamptz[])
    ) ORDER BY 1, 2, 3
    ON CONFLICT (class_id, bucket, student_id) DO UPDATE SET
        n = r.n + excluded.n,
        stuck = r.stuck + excluded.stuck,
        got_it = r.got_it + excluded.got_it,
        pause = r.pause + excluded.pause,
        example = r.example + excluded.example,
        confidence_sum = r.confidence_sum + excluded.confidence_sum,
        last_ts = greatest(r.last_ts, excluded.last_ts)
    """
)
_COPY_COLUMNS = [
    "class_id",
    "student_id",
    "stuck",
    "got_it",
    "pause",
    "example",
    "confidence",
    "ts",
]


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


async def ingest(engine: AsyncEngine, records: Sequence[MetricRecord]) -> IngestResult:
    """Store valid records in one transaction; records whose event id is known are skipped."""
    if not records:
        return IngestResult(0, 0, ())
    if all(r.event_id is None for r in records):
        return await _ingest_copy(engine, records)
    columns = list(
        zip(
            *(
                (
                    r.class_id,
                    r.student_id,
                    r.stuck,
                    r.got_it,
                    r.pause,
                    r.example,
                    r.confidence,
                    r.ts,
                    r.event_id,
                )
                for r in records
            ),
            strict=True,
        )
    )
    pairs = sorted({(r.class_id, r.student_id) for r in records})
    async with engine.begin() as conn:
        await _insert_membership(conn, pairs)
        row = (
            await conn.execute(
                _INSERT_METRICS,
                dict(
                    zip(
                        (
                            "class_id",
                            "student_id",
                            "stuck",
                            "got_it",
                            "pause",
                            "example",
                            "confidence",
                            "ts",
                            "event_id",
                        ),
                        (list(col) for col in columns),
                        strict=True,
                    )
                ),
            )
        ).one()
    accepted = int(row.accepted)
    return IngestResult(accepted, len(records) - accepted, tuple(sorted(row.class_ids)))


async def _ingest_copy(engine: AsyncEngine, records: Sequence[MetricRecord]) -> IngestResult:
    """No event ids, so nothing can conflict: binary COPY, rollups summed here."""
    pairs = sorted({(r.class_id, r.student_id) for r in records})
    rows = [
        (r.class_id, r.student_id, r.stuck, r.got_it, r.pause, r.example, r.confidence, r.ts)
        for r in records
    ]
    async with engine.begin() as conn:
        await _insert_membership(conn, pairs)
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table("metrics", records=rows, columns=_COPY_COLUMNS)
        await conn.execute(_UPSERT_ROLLUPS, _rollups(records))
    return IngestResult(len(records), 0, tuple(sorted({c for c, _ in pairs})))


# --- reads -------------------------------------------------------------------

Owner = Literal["class_id", "student_id"]
_METRIC_COLUMNS = "id, class_id, student_id, stuck, got_it, pause, example, confidence, ts"


def _range_sql(start: datetime | None, end: datetime | None, column: str = "ts") -> str:
    parts = []
    if start is not None:
        parts.append(f"{column} >= :start")
    if end is not None:
        parts.append(f"{column} < :end")
    return " AND ".join(parts) or "TRUE"


async def metric_pages(
    engine: AsyncEngine,
    owner: Owner,
    owner_ids: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> dict[str, list[dict[str, Any]]]:
    """Up to `limit` records per owner in [start, end), in (timestamp, id) order after the
    cursor; one index range scan per owner."""
    keyset = "(ts, id) > (:after_ts, :after_id)" if after else "TRUE"
    sql = f"""
        SELECT m.* FROM unnest(CAST(:ids AS text[])) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {_METRIC_COLUMNS} FROM metrics
            WHERE {owner} = o.id AND {_range_sql(start, end)} AND {keyset}
            ORDER BY ts, id LIMIT :limit
        ) AS m
        ORDER BY m.{owner}, m.ts, m.id
    """
    params: dict[str, Any] = {"ids": list(owner_ids), "start": start, "end": end, "limit": limit}
    if after:
        params["after_ts"], params["after_id"] = after
    found: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for row in (await conn.execute(text(sql), params)).mappings():
            found.setdefault(row[owner], []).append(dict(row))
    return found


HOUR = timedelta(hours=1)


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(value: datetime) -> datetime:
    floor = _floor_hour(value)
    return floor if floor == value else floor + HOUR


def split_range(
    start: datetime | None, end: datetime | None
) -> tuple[
    tuple[datetime | None, datetime | None] | None, list[tuple[datetime | None, datetime | None]]
]:
    """[start, end) as whole hourly buckets (read from rollups) and the partial edges
    (read from raw rows). Either bound may be open."""
    first = _ceil_hour(start) if start is not None else None
    last = _floor_hour(end) if end is not None else None
    if first is not None and last is not None and first >= last:
        return None, [(start, end)]
    edges: list[tuple[datetime | None, datetime | None]] = []
    if start is not None and start < first:
        edges.append((start, first))
    if end is not None and last < end:
        edges.append((last, end))
    return (first, last), edges


async def mastery(
    engine: AsyncEngine,
    owner: Owner,
    owner_ids: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, MasteryStats]:
    """Mastery per owner over [start, end): rollups for whole hours, raw rows at the edges,
    so the cost follows the number of active student-hours, not of records."""
    buckets, edges = split_range(start, end)
    params: dict[str, Any] = {"ids": list(owner_ids)}
    parts: list[str] = []
    if buckets is not None:
        params["b0"], params["b1"] = buckets
        conditions = [f"{owner} = ANY(:ids)"]
        if buckets[0] is not None:
            conditions.append("bucket >= :b0")
        if buckets[1] is not None:
            conditions.append("bucket < :b1")
        parts.append(
            "SELECT class_id, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts "
            f"FROM metric_rollups WHERE {' AND '.join(conditions)}"
        )
    for number, (lo, hi) in enumerate(edges):
        params[f"e{number}lo"], params[f"e{number}hi"] = lo, hi
        bounds = [f"{owner} = ANY(:ids)"]
        if lo is not None:
            bounds.append(f"ts >= :e{number}lo")
        if hi is not None:
            bounds.append(f"ts < :e{number}hi")
        parts.append(
            "SELECT class_id, student_id, 1, stuck::int, got_it::int, pause::int, example::int, "
            f"confidence, ts FROM metrics WHERE {' AND '.join(bounds)}"
        )
    # Per (owner, student) first, a hash aggregate of a few dozen groups; then per owner,
    # where counting the groups gives the distinct students without a sort.
    sql = f"""
        SELECT owner, sum(n) AS population, count(*) AS students,
               sum(stuck) AS stuck, sum(got_it) AS got_it, sum(pause) AS pause,
               sum(example) AS example, sum(confidence_sum) AS confidence_sum,
               max(last_ts) AS last_ts
        FROM (
            SELECT {owner} AS owner, student_id, sum(n) AS n, sum(stuck) AS stuck,
                   sum(got_it) AS got_it, sum(pause) AS pause, sum(example) AS example,
                   sum(confidence_sum) AS confidence_sum, max(last_ts) AS last_ts
            FROM ({" UNION ALL ".join(parts)})
                AS p(class_id, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts)
            GROUP BY 1, 2
        ) AS per_student
        GROUP BY 1
    """
    found: dict[str, MasteryStats] = {}
    async with engine.connect() as conn:
        for row in await conn.execute(text(sql), params):
            found[row.owner] = MasteryStats(
                class_id=row.owner if owner == "class_id" else None,
                student_id=row.owner if owner == "student_id" else None,
                population=int(row.population),
                students=int(row.students),
                stuck=int(row.stuck),
                got_it=int(row.got_it),
                pause=int(row.pause),
                example=int(row.example),
                confidence_sum=float(row.confidence_sum),
                last_timestamp=row.last_ts,
            )
    return found


def empty_mastery(owner: Owner, owner_id: str) -> MasteryStats:
    return MasteryStats(
        class_id=owner_id if owner == "class_id" else None,
        student_id=owner_id if owner == "student_id" else None,
    )


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
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_from_query(
            _EXPORT_QUERY, class_id, start, end, output=sink, format="csv", header=True
        )
