"""Learning goals with their target skills, and the immutable versions of their paths.
Writes run on the driver connection of the caller's transaction (after
`lock_plans`); reads take the engine (batched reads) or that connection."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from db.engine import Target, fetch, grouped, json_text, sortable_id

Row = dict[str, Any]

ACTIVE = "ACTIVE"
COMPLETED = "COMPLETED"

# A goal with its targets in the goal's order, as one row.
_GOAL_READ = """
    g.id, g.student_id, g.description, g.target_date, g.weekly_minutes, g.status,
    g.initial_snapshot, g.created_at, g.updated_at, g.completed_at,
    coalesce((SELECT jsonb_agg(jsonb_build_object('skill_id', s.skill_id,
                                                  'target_mastery', s.target_mastery)
                               ORDER BY s.position)
              FROM learning_goal_skills AS s WHERE s.goal_id = g.id), '[]') AS targets
"""
_PATH_COLUMNS = (
    "id, goal_id, version, active, trigger, reason, steps, estimated_minutes,"
    " estimated_completion_date, uncovered, diff, created_at"
)
# A version with its goal's student (whose the version is).
_PATH_READ = (
    "p.id, p.goal_id, p.version, p.active, p.trigger, p.reason, p.steps, p.estimated_minutes,"
    " p.estimated_completion_date, p.uncovered, p.diff, p.created_at, g.student_id"
    " FROM learning_paths AS p JOIN learning_goals AS g ON g.id = p.goal_id"
)


def new_goal_id() -> str:
    return sortable_id("goal")


def new_path_id() -> str:
    return f"path-{secrets.token_hex(6)}"


async def _goals(target: Target, where: str, *args: Any) -> list[Row]:
    return [
        dict(r)
        for r in await fetch(target, f"SELECT {_GOAL_READ} FROM learning_goals AS g {where}", *args)
    ]


async def lock_plans(conn: asyncpg.Connection, student_id: str) -> None:
    """Hold, until the transaction ends, the lock under which the student's goals, path
    versions and recommendations change: a recompute in a worker and a goal edit in the
    API store one version after the other, never two with the same number."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1313))", student_id)


async def insert_goal(
    conn: asyncpg.Connection,
    *,
    student_id: str,
    description: str,
    targets: Sequence[tuple[str, float]],
    target_date: date | None,
    weekly_minutes: int | None,
    snapshot: list[Row],
) -> str:
    goal_id = new_goal_id()
    await conn.execute("INSERT INTO students (id) VALUES ($1) ON CONFLICT DO NOTHING", student_id)
    await conn.execute(
        "INSERT INTO learning_goals (id, student_id, description, target_date, weekly_minutes,"
        " status, initial_snapshot) VALUES ($1, $2, $3, $4, $5, 'ACTIVE', $6)",
        goal_id,
        student_id,
        description,
        target_date,
        weekly_minutes,
        json_text(snapshot),
    )
    await _store_targets(conn, goal_id, targets)
    return goal_id


async def _store_targets(
    conn: asyncpg.Connection, goal_id: str, targets: Sequence[tuple[str, float]]
) -> None:
    await conn.execute("DELETE FROM learning_goal_skills WHERE goal_id = $1", goal_id)
    await conn.execute(
        "INSERT INTO learning_goal_skills (goal_id, skill_id, target_mastery, position)"
        " SELECT $1, s, t, n FROM unnest($2::text[], $3::float8[]) WITH ORDINALITY AS u(s, t, n)",
        goal_id,
        [skill for skill, _ in targets],
        [mastery for _, mastery in targets],
    )


async def update_goal(
    conn: asyncpg.Connection,
    goal_id: str,
    changes: dict[str, Any],
    targets: Sequence[tuple[str, float]] | None,
) -> None:
    """Set the given columns (description, target_date, weekly_minutes, status,
    completed_at) and, when given, replace the targets."""
    allowed = ("description", "target_date", "weekly_minutes", "status", "completed_at")
    names = [name for name in allowed if name in changes]
    sets = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    await conn.execute(
        f"UPDATE learning_goals SET {sets + ', ' if sets else ''}updated_at = now() WHERE id = $1",
        goal_id,
        *(changes[name] for name in names),
    )
    if targets is not None:
        await _store_targets(conn, goal_id, targets)


async def goals_by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await _goals(target, "WHERE g.id = ANY($1::text[])", list(ids))
    return {row["id"]: row for row in rows}


async def active_goals(target: Target, student_id: str) -> list[Row]:
    """The student's ACTIVE goals, oldest first (the first is the main one)."""
    return await _goals(
        target,
        "WHERE g.student_id = $1 AND g.status = 'ACTIVE' ORDER BY g.created_at, g.id",
        student_id,
    )


async def goal_pages(
    target: Target, student_ids: Sequence[str], status: str | None, after: str | None, limit: int
) -> dict[str, list[Row]]:
    """Up to `limit` goals per student, in id order."""
    rows = await fetch(
        target,
        f"""
        SELECT g.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {_GOAL_READ} FROM learning_goals AS g
            WHERE g.student_id = o.id AND ($2::text IS NULL OR g.status = $2::text)
              AND ($3::text IS NULL OR g.id > $3::text)
            ORDER BY g.id LIMIT $4
        ) AS g
        """,
        list(student_ids),
        status,
        after,
        limit,
    )
    return grouped(rows, "student_id")


async def students_with_active_goals(target: Target) -> list[str]:
    rows = await fetch(
        target,
        "SELECT DISTINCT student_id FROM learning_goals WHERE status = 'ACTIVE' ORDER BY 1",
    )
    return [row["student_id"] for row in rows]


# --- path versions -------------------------------------------------------------------


async def active_paths(target: Target, goal_ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        target,
        f"SELECT {_PATH_READ} WHERE p.goal_id = ANY($1::text[]) AND p.active",
        list(goal_ids),
    )
    return {row["goal_id"]: dict(row) for row in rows}


async def paths_by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        target,
        f"SELECT {_PATH_READ} WHERE p.id = ANY($1::text[])",
        list(ids),
    )
    return {row["id"]: dict(row) for row in rows}


async def path_pages(
    target: Target, goal_ids: Sequence[str], before: int | None, limit: int
) -> dict[str, list[Row]]:
    """Up to `limit` versions per goal, newest first, older than version `before`."""
    rows = await fetch(
        target,
        f"""
        SELECT p.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {_PATH_READ}
            WHERE p.goal_id = o.id AND ($2::int IS NULL OR p.version < $2::int)
            ORDER BY p.version DESC LIMIT $3
        ) AS p
        """,
        list(goal_ids),
        before,
        limit,
    )
    return grouped(rows, "goal_id")


async def store_path(conn: asyncpg.Connection, goal_id: str, fields: Row) -> Row:
    """A new version after the goal's newest, made the active one."""
    await conn.execute(
        "UPDATE learning_paths SET active = false WHERE goal_id = $1 AND active", goal_id
    )
    row = await conn.fetchrow(
        f"""
        INSERT INTO learning_paths (id, goal_id, version, active, trigger, reason, steps,
            estimated_minutes, estimated_completion_date, uncovered, diff)
        SELECT $1, $2::text, coalesce(max(version), 0) + 1, true, $3, $4, $5, $6, $7, $8, $9
        FROM learning_paths WHERE goal_id = $2::text
        RETURNING {_PATH_COLUMNS}, (SELECT student_id FROM learning_goals
                                  WHERE id = $2::text) AS student_id
        """,
        new_path_id(),
        goal_id,
        fields["trigger"],
        fields["reason"],
        json_text(fields["steps"]),
        fields["estimated_minutes"],
        fields["estimated_completion_date"],
        json_text(fields["uncovered"]),
        json_text(fields["diff"]) if fields["diff"] is not None else None,
    )
    assert row is not None
    return dict(row)


async def set_estimate(conn: asyncpg.Connection, path_id: str, estimate: date | None) -> None:
    """Refresh a version's estimated completion date (an estimate, not part of its steps)."""
    await conn.execute(
        "UPDATE learning_paths SET estimated_completion_date = $2 WHERE id = $1", path_id, estimate
    )
