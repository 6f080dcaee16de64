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
    {_fold_into_rollups("agg")}
    SELECT count(*) AS accepted,
           coalesce(array_agg(DISTINCT class_id), CAST('{{}}' AS text[])) AS class_ids
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


async def ingest(engine: AsyncEngine, records: Sequence[MetricRecord]) -> IngestResult:
    """Store valid records in one transaction; records whose event id is known are skipped."""
    if not records:
        return IngestResult(0, 0, ())
    if all(r.event_id is None for r in records):
        return await _ingest_copy(engine, records)
    params = {name: [getattr(r, name) for r in records] for name in _RECORD_COLUMNS}
    pairs = sorted({(r.class_id, r.student_id) for r in records})
    async with engine.begin() as conn:
        await _insert_membership(conn, pairs)
        row = (await conn.execute(_INSERT_METRICS, params)).one()
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


Bound = datetime | None
Segment = tuple[str, Bound, Bound]  # (source, from, to): a half-open slice of the range

# Coarsest first: each level covers what it can of the range, finer ones the edges.
_LEVELS = (("metric_rollups_daily", timedelta(days=1)), ("metric_rollups", timedelta(hours=1)))
RAW = "metrics"


def _floor(value: datetime, unit: timedelta) -> datetime:
    value = value.astimezone(UTC)
    if unit >= timedelta(days=1):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    return value.replace(minute=0, second=0, microsecond=0)


def _ceil(value: datetime, unit: timedelta) -> datetime:
    floor = _floor(value, unit)
    return floor if floor == value else floor + unit


def plan_range(
    start: Bound, end: Bound, levels: Sequence[tuple[str, timedelta]] = _LEVELS
) -> list[Segment]:
    """Cover [start, end) with whole days from the daily rollups, whole hours from the
    hourly ones and raw records for the rest. Either bound may be open."""
    if not levels:
        return [(RAW, start, end)]
    (source, unit), finer = levels[0], levels[1:]
    try:
        first = _ceil(start, unit) if start is not None else None
    except OverflowError:  # no whole bucket starts before the calendar ends
        return plan_range(start, end, finer)
    last = _floor(end, unit) if end is not None else None
    if first is not None and last is not None and first >= last:
        return plan_range(start, end, finer)
    segments: list[Segment] = [(source, first, last)]
    if start is not None and first is not None and start < first:
        segments += plan_range(start, first, finer)
    if end is not None and last is not None and last < end:
        segments += plan_range(last, end, finer)
    return segments


_SEGMENT_COLUMNS = {
    RAW: "class_id, student_id, 1, stuck::int, got_it::int, pause::int, example::int, confidence, ts",
    "rollup": "class_id, student_id, n, stuck, got_it, pause, example, confidence_sum, last_ts",
}


async def mastery(
    engine: AsyncEngine,
    owner: Owner,
    owner_ids: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, MasteryStats]:
    """Mastery per owner over [start, end): daily and hourly rollups for the whole buckets,
    raw rows only inside the partial hours at the edges, so the cost follows the number of
    active student-days, not of records."""
    params: dict[str, Any] = {"ids": list(owner_ids)}
    parts: list[str] = []
    for number, (source, lo, hi) in enumerate(plan_range(start, end)):
        column = "ts" if source == RAW else "bucket"
        conditions = [f"{owner} = ANY(:ids)"]
        if lo is not None:
            conditions.append(f"{column} >= :lo{number}")
            params[f"lo{number}"] = lo
        if hi is not None:
            conditions.append(f"{column} < :hi{number}")
            params[f"hi{number}"] = hi
        columns = _SEGMENT_COLUMNS[RAW if source == RAW else "rollup"]
        parts.append(f"SELECT {columns} FROM {source} WHERE {' AND '.join(conditions)}")
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
