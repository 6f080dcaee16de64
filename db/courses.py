"""The course catalogue's reads, batched by ids for the dataloaders: courses, their modules
and lessons, the lessons' skills and the prerequisites of all three (the writes are in
`db.course_writes`). Deleted lessons (soft delete, `deleted_at`) are left out of every
read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import Target, fetch, grouped

Row = dict[str, Any]
Kind = Literal["course", "module", "lesson"]

COURSE_COLUMNS = (
    "id, title, summary, description, difficulty, published, content_version, created_at,"
    " updated_at"
)
# Modules and live lessons, each with whether its course is published (for visibility).
MODULES = (
    "SELECT m.id, m.course_id, m.title, m.description, m.position, m.created_at,"
    " c.published AS course_published FROM modules AS m JOIN courses AS c ON c.id = m.course_id"
)
LESSON_READ = (
    "l.id, l.module_id, l.course_id, l.title, l.position, l.content_type, l.content_url,"
    " l.body, l.learning_objectives, l.difficulty, l.estimated_minutes, l.completion_rule,"
    " l.min_score, l.min_minutes, l.quiz_id, l.published, l.created_at, l.updated_at,"
    " c.published AS course_published"
)
LESSONS = f"SELECT {LESSON_READ} FROM lessons AS l JOIN courses AS c ON c.id = l.course_id"
# Each prerequisite table, by the kind of its owner (column `<kind>_id`).
EDGES: dict[Kind, str] = {
    "course": "course_prerequisites",
    "module": "module_prerequisites",
    "lesson": "lesson_prerequisites",
}


async def courses_by_id(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        engine, f"SELECT {COURSE_COLUMNS} FROM courses WHERE id = ANY($1::text[])", list(ids)
    )
    return {row["id"]: dict(row) for row in rows}


async def course_page(
    engine: AsyncEngine,
    published: bool | None,
    search: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Row]:
    """Courses in (title, id) order after `after`, published or not (None: both), whose
    title or summary contains `search` (any case)."""
    rows = await fetch(
        engine,
        f"""
        SELECT {COURSE_COLUMNS} FROM courses
        WHERE ($1::boolean IS NULL OR published = $1::boolean)
          AND ($2::text IS NULL OR strpos(lower(title || ' ' || coalesce(summary, '')),
                                          lower($2::text)) > 0)
          AND ($3::text IS NULL OR (title, id) > ($3::text, $4::text))
        ORDER BY title, id LIMIT $5
        """,
        published,
        search,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [dict(row) for row in rows]


async def prerequisites_of(
    engine: AsyncEngine, kind: Literal["course", "module"], ids: Sequence[str]
) -> dict[str, list[str]]:
    """The prerequisite courses of courses, or modules of modules, by id (in id order)."""
    table, owner = EDGES[kind], f"{kind}_id"
    rows = await fetch(
        engine,
        f"SELECT {owner}, prerequisite_id FROM {table}"
        f" WHERE {owner} = ANY($1::text[]) ORDER BY 1, 2",
        list(ids),
    )
    return grouped(rows, owner, "prerequisite_id")


async def modules_by_id(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        engine,
        f"{MODULES} WHERE m.id = ANY($1::text[])",
        list(ids),
    )
    return {row["id"]: dict(row) for row in rows}


async def modules_of_courses(
    engine: AsyncEngine, course_ids: Sequence[str]
) -> dict[str, list[Row]]:
    """Each course's modules in position order."""
    rows = await fetch(
        engine,
        f"{MODULES} WHERE m.course_id = ANY($1::text[]) ORDER BY m.course_id, m.position, m.id",
        list(course_ids),
    )
    return grouped(rows, "course_id")


async def lessons_by_id(engine: Target, ids: Sequence[str]) -> dict[str, Row]:
    """Live lessons (published or not) with `course_published`, by id."""
    rows = await fetch(
        engine,
        f"{LESSONS} WHERE l.id = ANY($1::text[]) AND l.deleted_at IS NULL",
        list(ids),
    )
    return {row["id"]: dict(row) for row in rows}


async def lessons_of_modules(
    engine: AsyncEngine, module_ids: Sequence[str]
) -> dict[str, list[Row]]:
    """Each module's live lessons (published or not) in position order."""
    rows = await fetch(
        engine,
        f"{LESSONS} WHERE l.module_id = ANY($1::text[]) AND l.deleted_at IS NULL"
        " ORDER BY l.module_id, l.position, l.id",
        list(module_ids),
    )
    return grouped(rows, "module_id")


async def lesson_skills_of(engine: Target, lesson_ids: Sequence[str]) -> dict[str, list[Row]]:
    """Each lesson's skills (skill_id, weight; the weights sum to 1), in skill-id order."""
    rows = await fetch(
        engine,
        "SELECT s.lesson_id, s.skill_id, s.weight FROM lesson_skills AS s"
        " JOIN lessons AS l ON l.id = s.lesson_id AND l.deleted_at IS NULL"
        " WHERE s.lesson_id = ANY($1::text[]) ORDER BY 1, 2",
        list(lesson_ids),
    )
    return grouped(rows, "lesson_id")


async def lesson_prerequisites_of(
    engine: Target, lesson_ids: Sequence[str]
) -> dict[str, list[Row]]:
    """Each lesson's prerequisites that are not deleted (prerequisite_id, min_score,
    min_completion), in id order."""
    rows = await fetch(
        engine,
        """
        SELECT p.lesson_id, p.prerequisite_id, p.min_score, p.min_completion
        FROM lesson_prerequisites AS p
        JOIN lessons AS l ON l.id = p.prerequisite_id AND l.deleted_at IS NULL
        WHERE p.lesson_id = ANY($1::text[]) ORDER BY 1, 2
        """,
        list(lesson_ids),
    )
    return grouped(rows, "lesson_id")


async def published_lesson_ids(
    engine: AsyncEngine, kind: Literal["course", "module"], ids: Sequence[str]
) -> dict[str, list[str]]:
    """Each course's (in course order: module position, then lesson position) or module's
    (in position order) published, live lesson ids."""
    owner = f"l.{kind}_id"
    rows = await fetch(
        engine,
        f"""
        SELECT {owner} AS owner, l.id FROM lessons AS l JOIN modules AS m ON m.id = l.module_id
        WHERE {owner} = ANY($1::text[]) AND l.published AND l.deleted_at IS NULL
        ORDER BY 1, m.position, l.position, l.id
        """,
        list(ids),
    )
    return grouped(rows, "owner", "id")


async def published_minutes(
    engine: AsyncEngine, kind: Literal["course", "module"], ids: Sequence[str]
) -> dict[str, int]:
    """The estimated minutes of each course's or module's published, live lessons."""
    owner = f"{kind}_id"
    rows = await fetch(
        engine,
        f"SELECT {owner}, sum(estimated_minutes) FROM lessons WHERE {owner} = ANY($1::text[])"
        f" AND published AND deleted_at IS NULL GROUP BY 1",
        list(ids),
    )
    return {row[0]: int(row[1]) for row in rows}


async def course_skill_ids(engine: AsyncEngine, course_ids: Sequence[str]) -> dict[str, list[str]]:
    """The union of each course's published, live lessons' skills, in id order."""
    rows = await fetch(
        engine,
        """
        SELECT DISTINCT l.course_id, s.skill_id FROM lessons AS l
        JOIN lesson_skills AS s ON s.lesson_id = l.id
        WHERE l.course_id = ANY($1::text[]) AND l.published AND l.deleted_at IS NULL
        ORDER BY 1, 2
        """,
        list(course_ids),
    )
    return grouped(rows, "course_id", "skill_id")


async def lessons_of_skills(
    engine: AsyncEngine,
    skill_ids: Sequence[str],
    published_only: bool,
    after: tuple[int, str] | None,
    limit: int,
) -> dict[str, list[Row]]:
    """Up to `limit` live lessons per skill in (difficulty, id) order after `after`; with
    `published_only`, only the published lessons of published courses."""
    rows = await fetch(
        engine,
        f"""
        SELECT s.id AS skill_id, t.* FROM unnest($1::text[]) AS s(id)
        CROSS JOIN LATERAL (
            SELECT {LESSON_READ} FROM lesson_skills AS k
            JOIN lessons AS l ON l.id = k.lesson_id
            JOIN courses AS c ON c.id = l.course_id
            WHERE k.skill_id = s.id AND l.deleted_at IS NULL
              AND (NOT $2::boolean OR (l.published AND c.published))
              AND ($3::int IS NULL OR (l.difficulty, l.id) > ($3::int, $4::text))
            ORDER BY l.difficulty, l.id LIMIT $5
        ) AS t
        """,
        list(skill_ids),
        published_only,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return grouped(rows, "skill_id")
