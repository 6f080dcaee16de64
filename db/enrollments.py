"""Enrolments, lesson progress and lesson activities, and what availability is decided
from: a lesson's prerequisites (lessons, earlier modules, courses) with the student's
progress on them (the lessons themselves, their skills and prerequisites are read by
db.courses). Reads take either the engine (batched reads) or the driver connection of
the caller's transaction (the write path decides availability inside it)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import asyncpg

from db.engine import Target, fetch, grouped

Row = dict[str, Any]

ENROLLMENT_COLUMNS = (
    "id, student_id, course_id, status, enrolled_at, last_activity_at, completed_at, goal_id"
)
PROGRESS_COLUMNS = (
    "student_id, lesson_id, status, completion, score, attempts, active_seconds, pauses,"
    " rewinds, hints_used, first_activity_at, last_activity_at, completed_at"
)
PROGRESS_FIELDS = PROGRESS_COLUMNS.replace(" ", "").split(",")[2:]


async def _dicts(target: Target, sql: str, *args: Any) -> list[Row]:
    return [dict(row) for row in await fetch(target, sql, *args)]


def new_id() -> str:
    return f"enr-{secrets.token_hex(6)}"


# --- what availability is decided from -------------------------------------------------


async def prerequisite_modules(
    target: Target, module_ids: Sequence[str]
) -> dict[str, dict[str, list[str]]]:
    """Per module: its prerequisite modules with their published lesson ids."""
    rows = await _dicts(
        target,
        """
        SELECT p.module_id, p.prerequisite_id,
               coalesce(array_agg(l.id ORDER BY l.position, l.id)
                        FILTER (WHERE l.id IS NOT NULL), '{}') AS lesson_ids
        FROM module_prerequisites AS p
        LEFT JOIN lessons AS l
          ON l.module_id = p.prerequisite_id AND l.published AND l.deleted_at IS NULL
        WHERE p.module_id = ANY($1::text[])
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        list(module_ids),
    )
    found: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        found.setdefault(row["module_id"], {})[row["prerequisite_id"]] = list(row["lesson_ids"])
    return found


async def prerequisite_courses(
    target: Target, student_id: str, course_ids: Sequence[str]
) -> dict[str, dict[str, bool]]:
    """Per course: its prerequisite courses, each with whether the student completed it."""
    rows = await _dicts(
        target,
        """
        SELECT p.course_id, p.prerequisite_id, coalesce(e.status = 'COMPLETED', false) AS done
        FROM course_prerequisites AS p
        LEFT JOIN enrollments AS e ON e.course_id = p.prerequisite_id AND e.student_id = $1
        WHERE p.course_id = ANY($2::text[]) ORDER BY 1, 2
        """,
        student_id,
        list(course_ids),
    )
    found: dict[str, dict[str, bool]] = {}
    for row in rows:
        found.setdefault(row["course_id"], {})[row["prerequisite_id"]] = row["done"]
    return found


async def progress(target: Target, student_id: str, lesson_ids: Sequence[str]) -> dict[str, Row]:
    rows = await _dicts(
        target,
        f"SELECT {PROGRESS_COLUMNS} FROM lesson_progress WHERE student_id = $1"
        " AND lesson_id = ANY($2::text[])",
        student_id,
        list(lesson_ids),
    )
    return {row["lesson_id"]: row for row in rows}


async def completion_counts(target: Target, student_id: str, course_id: str) -> tuple[int, int]:
    """(completed, total) over the course's published lessons, for the student."""
    rows = await _dicts(
        target,
        """
        SELECT count(p.lesson_id) FILTER (WHERE p.status = 'COMPLETED') AS completed,
               count(*) AS total
        FROM lessons AS l
        LEFT JOIN lesson_progress AS p ON p.lesson_id = l.id AND p.student_id = $1
        WHERE l.course_id = $2 AND l.published AND l.deleted_at IS NULL
        """,
        student_id,
        course_id,
    )
    return rows[0]["completed"], rows[0]["total"]


# --- enrolments ------------------------------------------------------------------------


async def courses_published(target: Target, course_ids: Sequence[str]) -> dict[str, bool]:
    rows = await _dicts(
        target, "SELECT id, published FROM courses WHERE id = ANY($1::text[])", list(course_ids)
    )
    return {row["id"]: row["published"] for row in rows}


async def enroll(
    conn: asyncpg.Connection, student_id: str, course_id: str, goal_id: str | None = None
) -> Row:
    """The student's enrolment in the course: created ACTIVE, a DROPPED one reactivated,
    any other returned as it is; with a `goal_id`, it serves that goal from now on."""
    await conn.execute("INSERT INTO students (id) VALUES ($1) ON CONFLICT DO NOTHING", student_id)
    row = await conn.fetchrow(
        f"""
        INSERT INTO enrollments AS e (id, student_id, course_id, status, goal_id)
        VALUES ($1, $2, $3, 'ACTIVE', $4)
        ON CONFLICT (student_id, course_id) DO UPDATE
            SET status = CASE WHEN e.status = 'DROPPED' THEN 'ACTIVE' ELSE e.status END,
                goal_id = coalesce(excluded.goal_id, e.goal_id)
        RETURNING {ENROLLMENT_COLUMNS}
        """,
        new_id(),
        student_id,
        course_id,
        goal_id,
    )
    assert row is not None
    return dict(row)


async def set_status(conn: asyncpg.Connection, enrollment_id: str, status: str) -> Row | None:
    row = await conn.fetchrow(
        f"UPDATE enrollments SET status = $2 WHERE id = $1 RETURNING {ENROLLMENT_COLUMNS}",
        enrollment_id,
        status,
    )
    return dict(row) if row is not None else None


async def enrollments_by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await _dicts(
        target,
        f"SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE id = ANY($1::text[])",
        list(ids),
    )
    return {row["id"]: row for row in rows}


async def enrollment_of(target: Target, student_id: str, course_id: str) -> Row | None:
    rows = await _dicts(
        target,
        f"SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE student_id = $1 AND course_id = $2",
        student_id,
        course_id,
    )
    return rows[0] if rows else None


async def touch_enrollment(
    conn: asyncpg.Connection, enrollment_id: str, at: Any, completed_at: Any
) -> None:
    """The newest activity's time, and COMPLETED once every published lesson is."""
    await conn.execute(
        """
        UPDATE enrollments SET last_activity_at = greatest(last_activity_at, $2),
            status = CASE WHEN $3::timestamptz IS NOT NULL AND status = 'ACTIVE'
                          THEN 'COMPLETED' ELSE status END,
            completed_at = coalesce(completed_at, $3::timestamptz)
        WHERE id = $1
        """,
        enrollment_id,
        at,
        completed_at,
    )


# --- activities and progress -----------------------------------------------------------


async def record_activity(
    conn: asyncpg.Connection, student_id: str, lesson_id: str, event_id: str, at: Any, activity: str
) -> bool:
    """Keep the activity once per (student, event id): False when it was known."""
    row = await conn.fetchrow(
        """
        INSERT INTO lesson_activities (student_id, lesson_id, event_id, occurred_at, activity)
        VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (student_id, event_id) DO NOTHING
        RETURNING id
        """,
        student_id,
        lesson_id,
        event_id,
        at,
        activity,
    )
    return row is not None


async def store_progress(
    conn: asyncpg.Connection, student_id: str, lesson_id: str, values: Row
) -> None:
    names = ", ".join(PROGRESS_FIELDS)
    marks = ", ".join(f"${n + 3}" for n in range(len(PROGRESS_FIELDS)))
    updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in PROGRESS_FIELDS)
    await conn.execute(
        f"""
        INSERT INTO lesson_progress (student_id, lesson_id, {names}) VALUES ($1, $2, {marks})
        ON CONFLICT (student_id, lesson_id) DO UPDATE SET {updates}
        """,
        student_id,
        lesson_id,
        *(values[f] for f in PROGRESS_FIELDS),
    )


async def lessons_graded_by(target: Target, quiz_id: str) -> list[str]:
    """The (not deleted) lessons whose quiz this is."""
    rows = await _dicts(
        target,
        "SELECT id FROM lessons WHERE quiz_id = $1 AND deleted_at IS NULL ORDER BY id",
        quiz_id,
    )
    return [row["id"] for row in rows]


async def enrollments_of_student(
    target: Target, student_id: str, course_ids: Sequence[str]
) -> dict[str, Row]:
    rows = await _dicts(
        target,
        f"SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE student_id = $1"
        " AND course_id = ANY($2::text[])",
        student_id,
        list(course_ids),
    )
    return {row["course_id"]: row for row in rows}


async def enrollment_pages(
    target: Target,
    owner: str,
    owner_ids: Sequence[str],
    status: str | None,
    after: str | None,
    limit: int,
) -> dict[str, list[Row]]:
    """Up to `limit` enrolments per student or per course (`owner`), in id order."""
    assert owner in ("student_id", "course_id")
    rows = await _dicts(
        target,
        f"""
        SELECT e.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {ENROLLMENT_COLUMNS} FROM enrollments
            WHERE {owner} = o.id AND ($2::text IS NULL OR status = $2::text)
              AND ($3::text IS NULL OR id > $3::text)
            ORDER BY id LIMIT $4
        ) AS e
        """,
        list(owner_ids),
        status,
        after,
        limit,
    )
    return grouped(rows, owner)
