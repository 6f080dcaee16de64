"""A learner's stored recommendations: made and retired under `goals.lock_plans`,
answered once, read in pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from db.engine import Target, fetch, grouped, json_text, sortable_id

Row = dict[str, Any]

OPEN = "OPEN"
COLUMNS = (
    "id, student_id, kind, target, lesson_id, skill_id, goal_id, difficulty, reason, evidence,"
    " priority, confidence, status, created_at, expires_at, responded_at, response_note"
)
# Open ones by priority, newest first within a priority.
_BY_PRIORITY = "CASE priority WHEN 'HIGH' THEN 0 WHEN 'MEDIUM' THEN 1 ELSE 2 END, id DESC"


def new_id() -> str:
    return sortable_id("rec")


async def live(conn: asyncpg.Connection, student_id: str, answered_since: datetime) -> list[Row]:
    """The student's OPEN recommendations and those answered since `answered_since`."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM recommendations WHERE student_id = $1"
        " AND (status = 'OPEN' OR responded_at >= $2) ORDER BY id",
        student_id,
        answered_since,
    )
    return [dict(row) for row in rows]


async def insert(conn: asyncpg.Connection, student_id: str, items: Sequence[Row]) -> list[Row]:
    """New OPEN recommendations (each: kind, target, lesson_id, skill_id, goal_id,
    difficulty, reason, evidence, priority, confidence, expires_at)."""
    if not items:
        return []
    rows = await conn.fetch(
        f"""
        INSERT INTO recommendations (id, student_id, kind, target, lesson_id, skill_id,
            goal_id, difficulty, reason, evidence, priority, confidence, status, expires_at)
        SELECT u.id, $1, u.kind, u.target, u.lesson_id, u.skill_id, u.goal_id,
               u.difficulty::jsonb, u.reason, u.evidence::jsonb, u.priority, u.confidence,
               'OPEN', u.expires_at
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                    $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[],
                    $13::timestamptz[])
             WITH ORDINALITY AS u(id, kind, target, lesson_id, skill_id, goal_id, difficulty,
                                  reason, evidence, priority, confidence, expires_at, n)
        ORDER BY u.n
        RETURNING {COLUMNS}
        """,
        student_id,
        [new_id() for _ in items],
        *(
            [item[name] for item in items]
            for name in ("kind", "target", "lesson_id", "skill_id", "goal_id")
        ),
        [json_text(i["difficulty"]) if i["difficulty"] else None for i in items],
        [item["reason"] for item in items],
        [json_text(item["evidence"]) for item in items],
        [item["priority"] for item in items],
        [item["confidence"] for item in items],
        [item["expires_at"] for item in items],
    )
    return [dict(row) for row in rows]


async def retire(conn: asyncpg.Connection, ids: Sequence[str], status: str) -> list[Row]:
    """Mark OPEN ones EXPIRED or SUPERSEDED."""
    if not ids:
        return []
    rows = await conn.fetch(
        f"UPDATE recommendations SET status = $2 WHERE id = ANY($1::text[]) AND status = 'OPEN'"
        f" RETURNING {COLUMNS}",
        list(ids),
        status,
    )
    return [dict(row) for row in rows]


async def respond(
    conn: asyncpg.Connection, rec_id: str, status: str, note: str | None
) -> Row | None:
    """Answer an OPEN one; None when it is not OPEN (answered, expired or superseded)."""
    row = await conn.fetchrow(
        f"UPDATE recommendations SET status = $2, response_note = $3, responded_at = now()"
        f" WHERE id = $1 AND status = 'OPEN' RETURNING {COLUMNS}",
        rec_id,
        status,
        note,
    )
    return dict(row) if row is not None else None


async def by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        target, f"SELECT {COLUMNS} FROM recommendations WHERE id = ANY($1::text[])", list(ids)
    )
    return {row["id"]: dict(row) for row in rows}


async def pages(
    target: Target,
    student_ids: Sequence[str],
    status: str | None,
    kind: str | None,
    after: str | None,
    limit: int,
) -> dict[str, list[Row]]:
    """Up to `limit` recommendations per student, newest first (ids sort by creation),
    older than the one with id `after`."""
    rows = await fetch(
        target,
        f"""
        SELECT r.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {COLUMNS} FROM recommendations
            WHERE student_id = o.id AND ($2::text IS NULL OR status = $2::text)
              AND ($3::text IS NULL OR kind = $3::text)
              AND ($4::text IS NULL OR id < $4::text)
            ORDER BY id DESC LIMIT $5
        ) AS r
        """,
        list(student_ids),
        status,
        kind,
        after,
        limit,
    )
    return grouped(rows, "student_id")


async def open_by_priority(
    target: Target, student_ids: Sequence[str], limit: int
) -> dict[str, list[Row]]:
    rows = await fetch(
        target,
        f"""
        SELECT r.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {COLUMNS} FROM recommendations
            WHERE student_id = o.id AND status = 'OPEN' AND expires_at > now()
            ORDER BY {_BY_PRIORITY} LIMIT $2
        ) AS r
        """,
        list(student_ids),
        limit,
    )
    return grouped(rows, "student_id")


async def expire_due(conn: asyncpg.Connection) -> list[str]:
    """Mark EXPIRED every OPEN one past its expiry; the students they belong to."""
    rows = await conn.fetch(
        "UPDATE recommendations SET status = 'EXPIRED'"
        " WHERE status = 'OPEN' AND expires_at <= now() RETURNING student_id",
    )
    return sorted({row["student_id"] for row in rows})
