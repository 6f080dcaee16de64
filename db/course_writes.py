"""The course catalogue's writes: courses, modules, lessons, the lessons' skills and the
prerequisites of all three, with the lookups made in the writing transaction (`db.courses`
holds the batched reads). Writes run inside the caller's transaction, after
`touch_course` (which locks the course row and bumps its content version) and, when
prerequisites change, `lock_graph`."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from db.courses import COURSE_COLUMNS, EDGES, Kind, Row
from db.engine import asyncpg_connection, json_text, xact_lock

# The writable columns of a lesson, in the order `insert_lesson` and `update_lesson` take.
LESSON_FIELDS = tuple(
    "title content_type content_url body learning_objectives difficulty estimated_minutes"
    " completion_rule min_score min_minutes quiz_id published".split()
)
COURSE_FIELDS = ("title", "summary", "description", "difficulty", "published")
# Which prerequisite edges count: lessons skip deleted prerequisites.
_LIVE = {
    "course": "true",
    "module": "true",
    "lesson": "EXISTS (SELECT 1 FROM lessons AS d WHERE d.id = e.prerequisite_id"
    " AND d.deleted_at IS NULL)",
}


def new_id(kind: Kind) -> str:
    """A server-made id: `course-`, `module-` or `lesson-` and 12 hex digits."""
    return f"{kind}-{secrets.token_hex(6)}"


async def lock_graph(conn: AsyncConnection, kind: Kind) -> None:
    """One writer of a prerequisite graph at a time: two writes that each close half of a
    cycle cannot both pass their check. Taken before `touch_course`."""
    await xact_lock(conn, f"graph:{kind}")


async def touch_course(conn: AsyncConnection, course_id: str) -> Row | None:
    """Bump the course's content version and `updated_at`, locking its row until the
    transaction ends (positions are computed under this lock); None when there is none."""
    raw = await asyncpg_connection(conn)
    row = await raw.fetchrow(
        "UPDATE courses SET content_version = content_version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {COURSE_COLUMNS}",
        course_id,
    )
    return dict(row) if row is not None else None


async def existing(conn: AsyncConnection, table: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are rows of `table` (a constant: skills, courses, quizzes)."""
    raw = await asyncpg_connection(conn)
    rows = await raw.fetch(f"SELECT id FROM {table} WHERE id = ANY($1::text[])", list(ids))
    return {row[0] for row in rows}


async def prerequisite_graph(
    conn: AsyncConnection, kind: Kind, start: Sequence[str]
) -> dict[str, set[str]]:
    """The part of a prerequisite graph reachable from `start` (every node with its
    prerequisites): enough to find a cycle that new edges to `start` would close."""
    raw = await asyncpg_connection(conn)
    table, owner, live = EDGES[kind], f"{kind}_id", _LIVE[kind]
    rows = await raw.fetch(
        f"""
        WITH RECURSIVE reach(id) AS (
            SELECT unnest($1::text[]) COLLATE "C"
            UNION
            SELECT e.prerequisite_id FROM {table} AS e JOIN reach AS r ON e.{owner} = r.id
            WHERE {live}
        )
        SELECT r.id, e.prerequisite_id FROM reach AS r
        LEFT JOIN {table} AS e ON e.{owner} = r.id AND {live}
        """,
        list(start),
    )
    graph: dict[str, set[str]] = {}
    for node, prerequisite in rows:
        graph.setdefault(node, set())
        if prerequisite is not None:
            graph[node].add(prerequisite)
    return graph


async def set_prerequisites(
    conn: AsyncConnection, kind: Kind, owner_id: str, prerequisite_ids: Sequence[str]
) -> None:
    """Replace a course's or module's prerequisites."""
    raw = await asyncpg_connection(conn)
    table, owner = EDGES[kind], f"{kind}_id"
    await raw.execute(f"DELETE FROM {table} WHERE {owner} = $1", owner_id)
    if prerequisite_ids:
        await raw.execute(
            f"INSERT INTO {table} ({owner}, prerequisite_id) SELECT $1, unnest($2::text[])",
            owner_id,
            list(prerequisite_ids),
        )


async def insert_course(conn: AsyncConnection, course: Mapping[str, Any]) -> None:
    """A new, unpublished course (id, title, summary, description, difficulty)."""
    raw = await asyncpg_connection(conn)
    await raw.execute(
        "INSERT INTO courses (id, title, summary, description, difficulty)"
        " VALUES ($1, $2, $3, $4, $5)",
        *(course[k] for k in ("id", "title", "summary", "description", "difficulty")),
    )


async def update_course(conn: AsyncConnection, course_id: str, changes: Mapping[str, Any]) -> None:
    """Set the given columns (of COURSE_FIELDS) of a course locked by `touch_course`."""
    names = [name for name in COURSE_FIELDS if name in changes]
    if not names:
        return
    raw = await asyncpg_connection(conn)
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    await raw.execute(
        f"UPDATE courses SET {assignments} WHERE id = $1",
        course_id,
        *(changes[name] for name in names),
    )


async def modules_in(conn: AsyncConnection, module_ids: Sequence[str]) -> dict[str, Row]:
    """Modules by id (id, course_id, position), read in the writing transaction."""
    raw = await asyncpg_connection(conn)
    rows = await raw.fetch(
        "SELECT id, course_id, position FROM modules WHERE id = ANY($1::text[])",
        list(module_ids),
    )
    return {row["id"]: dict(row) for row in rows}


async def insert_module(conn: AsyncConnection, module: Mapping[str, Any]) -> int:
    """A new module (id, course_id, title, description, position or None for the end);
    the later modules move down one place. Returns the position it got (clamped to the
    end, so that positions stay 0..n-1)."""
    raw = await asyncpg_connection(conn)
    count = await raw.fetchval(
        "SELECT count(*) FROM modules WHERE course_id = $1", module["course_id"]
    )
    position = count if module["position"] is None else min(module["position"], count)
    await raw.execute(
        "UPDATE modules SET position = position + 1 WHERE course_id = $1 AND position >= $2",
        module["course_id"],
        position,
    )
    await raw.execute(
        "INSERT INTO modules (id, course_id, title, description, position)"
        " VALUES ($1, $2, $3, $4, $5)",
        module["id"],
        module["course_id"],
        module["title"],
        module["description"],
        position,
    )
    return int(position)


async def live_lessons_in(conn: AsyncConnection, lesson_ids: Sequence[str]) -> dict[str, Row]:
    """Lessons not deleted, by id (id, module_id, course_id, position), read in the
    writing transaction (a lesson's own writes are serialised by its course's lock)."""
    raw = await asyncpg_connection(conn)
    rows = await raw.fetch(
        "SELECT id, module_id, course_id, position FROM lessons"
        " WHERE id = ANY($1::text[]) AND deleted_at IS NULL",
        list(lesson_ids),
    )
    return {row["id"]: dict(row) for row in rows}


async def _lesson_count(raw: asyncpg.Connection, module_id: str) -> int:
    return int(
        await raw.fetchval(
            "SELECT count(*) FROM lessons WHERE module_id = $1 AND deleted_at IS NULL", module_id
        )
    )


async def insert_lesson(
    conn: AsyncConnection, lesson: Mapping[str, Any], position: int | None
) -> int:
    """A new lesson (id, module_id, course_id and LESSON_FIELDS) at `position` (None: the
    end; clamped to it), the later lessons of its module moved down one place. Returns the
    position it got."""
    raw = await asyncpg_connection(conn)
    count = await _lesson_count(raw, lesson["module_id"])
    at = count if position is None else min(position, count)
    await raw.execute(
        "UPDATE lessons SET position = position + 1"
        " WHERE module_id = $1 AND deleted_at IS NULL AND position >= $2",
        lesson["module_id"],
        at,
    )
    values = [
        json_text(lesson[k]) if k == "learning_objectives" else lesson[k] for k in LESSON_FIELDS
    ]
    columns = ", ".join(LESSON_FIELDS)
    placeholders = ", ".join(
        f"${n}::jsonb" if name == "learning_objectives" else f"${n}"
        for n, name in enumerate(LESSON_FIELDS, start=5)
    )
    await raw.execute(
        f"INSERT INTO lessons (id, module_id, course_id, position, {columns})"
        f" VALUES ($1, $2, $3, $4, {placeholders})",
        lesson["id"],
        lesson["module_id"],
        lesson["course_id"],
        at,
        *values,
    )
    return at


async def move_lesson(conn: AsyncConnection, lesson: Mapping[str, Any], position: int) -> int:
    """Move a live lesson (a row of `live_lessons_in`) to `position` in its module (clamped
    to the last place), the lessons in between shifted by one. Returns the position."""
    raw = await asyncpg_connection(conn)
    old = lesson["position"]
    new = min(position, await _lesson_count(raw, lesson["module_id"]) - 1)
    if new != old:
        low, high, step = (new, old - 1, 1) if new < old else (old + 1, new, -1)
        await raw.execute(
            "UPDATE lessons SET position = position + $4 WHERE module_id = $1"
            " AND deleted_at IS NULL AND position BETWEEN $2 AND $3",
            lesson["module_id"],
            low,
            high,
            step,
        )
        await raw.execute("UPDATE lessons SET position = $2 WHERE id = $1", lesson["id"], new)
    return new


async def update_lesson(conn: AsyncConnection, lesson_id: str, changes: Mapping[str, Any]) -> None:
    """Set the given columns (of LESSON_FIELDS) of a live lesson, and its `updated_at`."""
    names = [name for name in LESSON_FIELDS if name in changes]
    raw = await asyncpg_connection(conn)
    assignments = "".join(
        f", {name} = ${n}::jsonb" if name == "learning_objectives" else f", {name} = ${n}"
        for n, name in enumerate(names, start=2)
    )
    await raw.execute(
        f"UPDATE lessons SET updated_at = now(){assignments} WHERE id = $1",
        lesson_id,
        *(json_text(changes[n]) if n == "learning_objectives" else changes[n] for n in names),
    )


async def set_lesson_skills(
    conn: AsyncConnection, lesson_id: str, weights: Mapping[str, float]
) -> None:
    """Replace a lesson's skills with these (normalised) weights."""
    raw = await asyncpg_connection(conn)
    await raw.execute("DELETE FROM lesson_skills WHERE lesson_id = $1", lesson_id)
    await raw.execute(
        "INSERT INTO lesson_skills (lesson_id, skill_id, weight)"
        " SELECT $1, * FROM unnest($2::text[], $3::float8[])",
        lesson_id,
        list(weights),
        list(weights.values()),
    )


async def set_lesson_prerequisites(
    conn: AsyncConnection, lesson_id: str, prerequisites: Sequence[Mapping[str, Any]]
) -> None:
    """Replace a lesson's prerequisites (each: lesson_id, min_score, min_completion)."""
    raw = await asyncpg_connection(conn)
    await raw.execute("DELETE FROM lesson_prerequisites WHERE lesson_id = $1", lesson_id)
    if prerequisites:
        await raw.execute(
            "INSERT INTO lesson_prerequisites (lesson_id, prerequisite_id, min_score,"
            " min_completion) SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::float8[])",
            lesson_id,
            [p["lesson_id"] for p in prerequisites],
            [p["min_score"] for p in prerequisites],
            [p["min_completion"] for p in prerequisites],
        )


async def delete_lesson(conn: AsyncConnection, lesson_id: str) -> bool:
    """Soft-delete a live lesson and close the gap it leaves in its module's positions;
    False when there is no such lesson (or it was deleted already)."""
    raw = await asyncpg_connection(conn)
    row = await raw.fetchrow(
        "UPDATE lessons SET deleted_at = now(), updated_at = now()"
        " WHERE id = $1 AND deleted_at IS NULL RETURNING module_id, position",
        lesson_id,
    )
    if row is None:
        return False
    await raw.execute(
        "UPDATE lessons SET position = position - 1"
        " WHERE module_id = $1 AND deleted_at IS NULL AND position > $2",
        row["module_id"],
        row["position"],
    )
    return True


async def course_of_lesson(conn: AsyncConnection, lesson_id: str) -> str | None:
    """The course of a lesson, deleted or not (read before `touch_course` locks it: a
    lesson never changes course)."""
    raw = await asyncpg_connection(conn)
    found = await raw.fetchval("SELECT course_id FROM lessons WHERE id = $1", lesson_id)
    return str(found) if found is not None else None
