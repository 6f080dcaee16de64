"""The learner model's rows: per-(student, skill) levels with their FSRS cards, and the
mastery events that changed them. Writes run inside the caller's transaction, after
`lock_learner`; reads are batched for the dataloaders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import asyncpg_connection, fetch, grouped

Row = dict[str, Any]
Pair = tuple[str, str]  # (student id, skill id)

_LEVEL_COLUMNS = (
    "student_id, skill_id, p_mastery, opportunities, correct, recent, last_practiced_at, card,"
    " updated_at"
)
# Read with each level: its skill's tracing parameters (for pCorrectNext). The pool's
# connections decode JSONB (`recent`, `card`) themselves (SQLAlchemy's codec) and take it
# as text.
_LEVEL_READ = (
    "l.student_id, l.skill_id, l.p_mastery, l.opportunities, l.correct, l.recent,"
    " l.last_practiced_at, l.card, l.updated_at, k.prior, k.learn, k.guess, k.slip, k.forget"
)
_EVENT_COLUMNS = (
    "id, student_id, skill_id, at, source, source_id, correct, weight, p_before, p_after,"
    " review_rating"
)


async def lock_learner(conn: AsyncConnection, student_id: str) -> None:
    """Create the student if new, and take the transaction-long lock under which its
    levels change: two submissions for the same student apply one after the other, so
    neither update is lost. (An advisory lock: the student row stays free for the foreign
    key checks of concurrent ingests.)"""
    raw = await asyncpg_connection(conn)
    await raw.execute(
        "WITH s AS (INSERT INTO students (id) VALUES ($1) ON CONFLICT DO NOTHING)"
        " SELECT pg_advisory_xact_lock(hashtextextended($1, 8008))",
        student_id,
    )


async def levels_in(
    conn: AsyncConnection, student_id: str, skill_ids: Sequence[str]
) -> dict[str, Row]:
    """The student's stored levels on these skills, by skill id (inside the lock)."""
    raw = await asyncpg_connection(conn)
    rows = await raw.fetch(
        f"SELECT {_LEVEL_COLUMNS} FROM skill_levels WHERE student_id = $1"
        " AND skill_id = ANY($2::text[])",
        student_id,
        list(skill_ids),
    )
    return {row["skill_id"]: dict(row) for row in rows}


async def store_levels(conn: AsyncConnection, student_id: str, levels: Iterable[Row]) -> None:
    """Insert or replace the student's levels (each row: skill_id, p_mastery,
    opportunities, correct, recent, last_practiced_at, card)."""
    rows = [
        (
            student_id,
            level["skill_id"],
            level["p_mastery"],
            level["opportunities"],
            level["correct"],
            orjson.dumps(list(level["recent"])).decode(),
            level["last_practiced_at"],
            orjson.dumps(level["card"]).decode() if level["card"] is not None else None,
        )
        for level in levels
    ]
    if not rows:
        return
    raw = await asyncpg_connection(conn)
    await raw.executemany(
        """
        INSERT INTO skill_levels (student_id, skill_id, p_mastery, opportunities, correct,
                                  recent, last_practiced_at, card, review_due_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb,
                CASE WHEN $8::jsonb->>'last_review' IS NOT NULL
                     THEN ($8::jsonb->>'due')::timestamptz END, now())
        ON CONFLICT (student_id, skill_id) DO UPDATE SET
            p_mastery = EXCLUDED.p_mastery, opportunities = EXCLUDED.opportunities,
            correct = EXCLUDED.correct, recent = EXCLUDED.recent,
            last_practiced_at = EXCLUDED.last_practiced_at, card = EXCLUDED.card,
            review_due_at = EXCLUDED.review_due_at, updated_at = now()
        """,
        rows,
    )


async def store_events(conn: AsyncConnection, events: Sequence[Row]) -> None:
    """Append mastery events (student_id, skill_id, at, source, source_id, correct,
    weight, p_before, p_after, review_rating), in the order given: ids grow with it."""
    if not events:
        return
    columns = (
        "student_id",
        "skill_id",
        "at",
        "source",
        "source_id",
        "correct",
        "weight",
        "p_before",
        "p_after",
        "review_rating",
    )
    names = ", ".join(columns)
    raw = await asyncpg_connection(conn)
    await raw.execute(
        f"""
        INSERT INTO mastery_events ({names})
        SELECT {names} FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[],
                                   $5::text[], $6::bool[], $7::float8[], $8::float8[],
                                   $9::float8[], $10::int2[])
            WITH ORDINALITY AS e({names}, n)
        ORDER BY n
        """,
        *([event[column] for event in events] for column in columns),
    )


# --- reads (batched) -------------------------------------------------------------------


async def students_due_between(engine: AsyncEngine, after: Any, until: Any) -> list[str]:
    """Students with a review that fell due in (after, until]."""
    rows = await fetch(
        engine,
        "SELECT DISTINCT student_id FROM skill_levels"
        " WHERE review_due_at > $1 AND review_due_at <= $2 ORDER BY 1",
        after,
        until,
    )
    return [row["student_id"] for row in rows]


async def levels_of_pairs(engine: AsyncEngine, pairs: Sequence[Pair]) -> dict[Pair, Row]:
    """Stored levels by (student, skill); pairs without evidence are absent."""
    rows = await fetch(
        engine,
        f"""
        SELECT {_LEVEL_READ} FROM skill_levels AS l JOIN skills AS k ON k.id = l.skill_id
        WHERE (l.student_id, l.skill_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        """,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(row["student_id"], row["skill_id"]): dict(row) for row in rows}


async def level_pages(
    engine: AsyncEngine,
    student_ids: Sequence[str],
    after: str | None,
    limit: int,
    p_range: tuple[float, float] | None = None,
    touched: bool | None = None,
) -> dict[str, list[Row]]:
    """Up to `limit` levels per student in skill-id order after `after`, optionally only
    those with pMastery in [low, high) and with (or without) evidence."""
    conditions = ["l.student_id = s.id", "($2::text IS NULL OR l.skill_id > $2::text)"]
    args: list[Any] = [list(student_ids), after, limit]
    if p_range is not None:
        args += list(p_range)
        conditions.append("l.p_mastery >= $4 AND l.p_mastery < $5")
    if touched is not None:
        conditions.append("l.opportunities > 0" if touched else "l.opportunities = 0")
    rows = await fetch(
        engine,
        f"""
        SELECT l.* FROM unnest($1::text[]) AS s(id)
        CROSS JOIN LATERAL (
            SELECT {_LEVEL_READ} FROM skill_levels AS l JOIN skills AS k ON k.id = l.skill_id
            WHERE {" AND ".join(conditions)}
            ORDER BY l.skill_id LIMIT $3
        ) AS l
        """,
        *args,
    )
    return grouped(rows, "student_id")


async def event_pages(
    engine: AsyncEngine, pairs: Sequence[Pair], before_id: int | None, limit: int
) -> dict[Pair, list[Row]]:
    """Up to `limit` events per (student, skill), newest first, older than `before_id`."""
    rows = await fetch(
        engine,
        f"""
        SELECT e.* FROM unnest($1::text[], $2::text[]) AS p(student_id, skill_id)
        CROSS JOIN LATERAL (
            SELECT {_EVENT_COLUMNS} FROM mastery_events AS e
            WHERE e.student_id = p.student_id AND e.skill_id = p.skill_id
              AND ($3::bigint IS NULL OR e.id < $3::bigint)
            ORDER BY e.id DESC LIMIT $4
        ) AS e
        """,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        before_id,
        limit,
    )
    found: dict[Pair, list[Row]] = {}
    for row in rows:  # keyed by a pair of columns, so not `grouped`
        found.setdefault((row["student_id"], row["skill_id"]), []).append(dict(row))
    return found


async def untouched_pages(
    engine: AsyncEngine, student_ids: Sequence[str], after: str | None, limit: int
) -> dict[str, list[Row]]:
    """Up to `limit` skills per student with no evidence yet, in id order after `after`,
    as levels at the skill's prior."""
    rows = await fetch(
        engine,
        """
        SELECT s.id AS student_id, k.id AS skill_id, k.prior AS p_mastery, 0 AS opportunities,
               0 AS correct, '[]'::jsonb AS recent, NULL::timestamptz AS last_practiced_at,
               NULL::jsonb AS card, NULL::timestamptz AS updated_at,
               k.prior, k.learn, k.guess, k.slip, k.forget
        FROM unnest($1::text[]) AS s(id)
        CROSS JOIN LATERAL (
            SELECT * FROM skills AS k
            WHERE ($2::text IS NULL OR k.id > $2::text)
              AND NOT EXISTS (
                  SELECT 1 FROM skill_levels AS l WHERE l.student_id = s.id AND l.skill_id = k.id
              )
            ORDER BY k.id LIMIT $3
        ) AS k
        """,
        list(student_ids),
        after,
        limit,
    )
    return grouped(rows, "student_id")


def at_prior(student_id: str, skill: dict[str, Any]) -> dict[str, Any]:
    """The level of a pair without evidence: the skill's prior, nothing practiced."""
    return {
        "student_id": student_id,
        "skill_id": skill["id"],
        "p_mastery": skill["prior"],
        "opportunities": 0,
        "correct": 0,
        "recent": [],
        "last_practiced_at": None,
        "card": None,
        **{k: skill[k] for k in ("prior", "learn", "guess", "slip", "forget")},
    }
