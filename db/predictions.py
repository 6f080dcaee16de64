"""Predictions stored on students."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db.lateral import newest_per_student
from db.tables import predictions, students

Row = dict[str, Any]


async def store(engine: AsyncEngine, rows: Sequence[Row]) -> None:
    if not rows:
        return
    async with engine.begin() as conn:
        ids = sorted({row["student_id"] for row in rows})
        await conn.execute(
            pg_insert(students).on_conflict_do_nothing(), [{"id": student} for student in ids]
        )
        await conn.execute(insert(predictions), list(rows))


async def of_students(
    engine: AsyncEngine, student_ids: Sequence[str], limit: int
) -> dict[str, list[Row]]:
    """Newest first, up to `limit` per student."""
    return await newest_per_student(engine, predictions, "created_at DESC, id", student_ids, limit)
