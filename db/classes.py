"""Classes, students and who is in which class: keyset pages, batched for dataloaders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM classes WHERE id = ANY(:ids)"), {"ids": list(ids)}
        )
        return {row.id for row in rows}


async def existing_students(engine: AsyncEngine, ids: Sequence[str]) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id FROM students WHERE id = ANY(:ids)"), {"ids": list(ids)}
        )
        return {row.id for row in rows}


async def student_counts(engine: AsyncEngine, class_ids: Sequence[str]) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT class_id, count(*) AS n FROM class_students WHERE class_id = ANY(:ids) "
                "GROUP BY class_id"
            ),
            {"ids": list(class_ids)},
        )
        return {row.class_id: row.n for row in rows}


async def students_of_classes(
    engine: AsyncEngine, class_ids: Sequence[str], after: str | None, limit: int
) -> dict[str, list[str]]:
    """Up to `limit` student ids per class, after the cursor, in id order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                """
                SELECT c.id AS class_id, s.student_id
                FROM unnest(CAST(:ids AS text[])) AS c(id)
                CROSS JOIN LATERAL (
                    SELECT student_id FROM class_students
                    WHERE class_id = c.id AND (CAST(:after AS text) IS NULL OR student_id > :after)
                    ORDER BY student_id LIMIT :limit
                ) AS s
                ORDER BY 1, 2
                """
            ),
            {"ids": list(class_ids), "after": after, "limit": limit},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.class_id, []).append(row.student_id)
        return found


async def classes_of_students(
    engine: AsyncEngine, student_ids: Sequence[str]
) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT student_id, class_id FROM class_students WHERE student_id = ANY(:ids) "
                "ORDER BY student_id, class_id"
            ),
            {"ids": list(student_ids)},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.student_id, []).append(row.class_id)
        return found
