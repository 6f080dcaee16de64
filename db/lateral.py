"""Rows per student, newest first: one index range scan per student, in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

Row = dict[str, Any]


async def newest_per_student(
    engine: AsyncEngine, table: Table, order_by: str, student_ids: Sequence[str], limit: int
) -> dict[str, list[Row]]:
    """Up to `limit` rows of `table` per student, in `order_by` order (a constant of the
    caller's, e.g. "created_at DESC, id"), keyed by student id."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                f"""
                SELECT t.* FROM unnest(CAST(:ids AS text[])) AS s(id)
                CROSS JOIN LATERAL (
                    SELECT * FROM {table.name} WHERE student_id = s.id
                    ORDER BY {order_by} LIMIT :limit
                ) AS t
                """
            ),
            {"ids": list(student_ids), "limit": limit},
        )
        found: dict[str, list[Row]] = {}
        for row in rows.mappings():
            found.setdefault(row["student_id"], []).append(dict(row))
        return found
