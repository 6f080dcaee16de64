"""Learning metrics: the bulk ingest path with its rollups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class MetricRecord:
    class_id: str
    student_id: str
    stuck: bool
    got_it: bool
    pause: bool
    example: bool
    confidence: float
    ts: datetime
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    class_ids: tuple[str, ...]


_INSERT_CLASSES = text(
    "INSERT INTO classes (id) SELECT unnest(CAST(:ids AS text[])) ORDER BY 1 ON CONFLICT DO NOTHING"
)
_INSERT_STUDENTS = text(
    "INSERT INTO students (id) SELECT unnest(CAST(:ids AS text[])) ORDER BY 1 ON CONFLICT DO NOTHING"
)
_INSERT_MEMBERSHIP = text(
    """
    INSERT INTO class_students (class_id, student_id)
    SELECT * FROM unnest(CAST(:class_ids AS text[]), CAST(:student_ids AS text[])) ORDER BY 1, 2
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
        ON CONFLICT (event_id) DO NOTHING
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


async def ingest(engine: AsyncEngine, records: Sequence[MetricRecord]) -> IngestResult:
    """Store valid records in one transaction; records whose event id is known are skipped."""
    if not records:
        return IngestResult(0, 0, ())
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
        await conn.execute(_INSERT_CLASSES, {"ids": sorted({c for c, _ in pairs})})
        await conn.execute(_INSERT_STUDENTS, {"ids": sorted({s for _, s in pairs})})
        await conn.execute(
            _INSERT_MEMBERSHIP,
            {"class_ids": [c for c, _ in pairs], "student_ids": [s for _, s in pairs]},
        )
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
