"""Reads over metric records: keyset pages of raw records, and mastery over any range
from the rollups (whole days, then whole hours) and raw rows only at the edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import fetch
from ml.metrics import MasteryStats

Owner = Literal["class_id", "student_id"]
_METRIC_COLUMNS = "id, class_id, student_id, stuck, got_it, pause, example, confidence, ts"


class Params(list[Any]):
    """Positional parameters for asyncpg: `add` appends one and says its `$n`."""

    def add(self, value: Any, cast: str = "") -> str:
        self.append(value)
        return f"${len(self)}{cast}"


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
    cursor; one index range scan per owner. Rows are read by column name."""
    params = Params()
    ids = params.add(list(owner_ids), "::text[]")
    conditions = [f"{owner} = o.id"]
    if start is not None:
        conditions.append(f"ts >= {params.add(start)}")
    if end is not None:
        conditions.append(f"ts < {params.add(end)}")
    if after:
        conditions.append(f"(ts, id) > ({params.add(after[0])}, {params.add(after[1])})")
    sql = f"""
        SELECT m.* FROM unnest({ids}) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {_METRIC_COLUMNS} FROM metrics
            WHERE {" AND ".join(conditions)}
            ORDER BY ts, id LIMIT {params.add(limit)}
        ) AS m
        ORDER BY m.{owner}, m.ts, m.id
    """
    found: dict[str, list[Any]] = {}
    for row in await fetch(engine, sql, *params):
        found.setdefault(row[owner], []).append(row)
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
    params = Params()
    ids = params.add(list(owner_ids), "::text[]")
    parts: list[str] = []
    for source, lo, hi in plan_range(start, end):
        column = "ts" if source == RAW else "bucket"
        conditions = [f"{owner} = ANY({ids})"]
        if lo is not None:
            conditions.append(f"{column} >= {params.add(lo)}")
        if hi is not None:
            conditions.append(f"{column} < {params.add(hi)}")
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
    for row in await fetch(engine, sql, *params):
        key = row["owner"]
        found[key] = MasteryStats(
            class_id=key if owner == "class_id" else None,
            student_id=key if owner == "student_id" else None,
            population=int(row["population"]),
            students=int(row["students"]),
            stuck=int(row["stuck"]),
            got_it=int(row["got_it"]),
            pause=int(row["pause"]),
            example=int(row["example"]),
            confidence_sum=float(row["confidence_sum"]),
            last_timestamp=row["last_ts"],
        )
    return found


def empty_mastery(owner: Owner, owner_id: str) -> MasteryStats:
    return MasteryStats(
        class_id=owner_id if owner == "class_id" else None,
        student_id=owner_id if owner == "student_id" else None,
    )
