"""Classes, students and who is in which class: keyset pages, batched for dataloaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import fetch, grouped

Row = dict[str, Any]


async def class_page(engine: AsyncEngine, after: str | None, limit: int) -> list[Row]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, created_at FROM classes WHERE (CAST(:after AS text) IS NULL OR id > :after) "
                "ORDER BY id LIMIT :limit"
            ),
            {"after": after, "limit": limit},
        )
        return [dict(row) for row in rows.mappings()]


async def has_classes(engine: AsyncEngine) -> bool:
    """Whether any class exists (a database that holds data)."""
    async with engine.connect() as conn:
        return bool(await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM classes)")))


async def existing_classes(engine: AsyncEngine, ids: Sequence[str]) -> set[str]:
    rows = await fetch(engine, "SELECT id FROM classes WHERE id = ANY($1::text[])", list(ids))
    return {row[0] for row in rows}


async def existing_students(engine: AsyncEngine, ids: Sequence[str]) -> set[str]:
    rows = await fetch(engine, "SELECT id FROM students WHERE id = ANY($1::text[])", list(ids))
    return {row[0] for row in rows}


async def student_counts(engine: AsyncEngine, class_ids: Sequence[str]) -> dict[str, int]:
    rows = await fetch(
        engine,
        "SELECT class_id, count(*) FROM class_students WHERE class_id = ANY($1::text[]) "
        "GROUP BY class_id",
        list(class_ids),
    )
    return {row[0]: row[1] for row in rows}


async def students_of_classes(
    engine: AsyncEngine, class_ids: Sequence[str], after: str | None, limit: int
) -> dict[str, list[str]]:
    """Up to `limit` student ids per class, after the cursor, in id order."""
    rows = await fetch(
        engine,
        """
        SELECT c.id AS class_id, s.student_id
        FROM unnest($1::text[]) AS c(id)
        CROSS JOIN LATERAL (
            SELECT student_id FROM class_students
            WHERE class_id = c.id AND ($2::text IS NULL OR student_id > $2::text)
            ORDER BY student_id LIMIT $3
        ) AS s
        ORDER BY 1, 2
        """,
        list(class_ids),
        after,
        limit,
    )
    return grouped(rows, "class_id", "student_id")


async def classes_of_students(
    engine: AsyncEngine, student_ids: Sequence[str]
) -> dict[str, list[str]]:
    rows = await fetch(
        engine,
        "SELECT student_id, class_id FROM class_students WHERE student_id = ANY($1::text[]) "
        "ORDER BY student_id, class_id",
        list(student_ids),
    )
    return grouped(rows, "student_id", "class_id")


async def timezones_of(engine: AsyncEngine, student_ids: Sequence[str]) -> dict[str, str]:
    rows = await fetch(
        engine, "SELECT id, timezone FROM students WHERE id = ANY($1::text[])", list(student_ids)
    )
    return {row[0]: row[1] for row in rows}
