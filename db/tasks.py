"""Background tasks: the row is the source of truth for status and result."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.tables import tasks

Row = dict[str, Any]
# The one definition of a task's states and kinds (the GraphQL enums are built from these).
QUEUED, RUNNING, SUCCEEDED, FAILED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
FINISHED = (SUCCEEDED, FAILED)
QUIZ_GENERATION, PROFILE_ANALYSIS, MODEL_TRAINING = (
    "QUIZ_GENERATION",
    "PROFILE_ANALYSIS",
    "MODEL_TRAINING",
)
KINDS = (QUIZ_GENERATION, PROFILE_ANALYSIS, MODEL_TRAINING)


async def create(
    conn: AsyncConnection,
    *,
    task_id: str,
    kind: str,
    params: dict[str, Any],
    owner_user_id: int | None,
    owner_student_id: str | None,
    deadline: timedelta,
) -> Row:
    row = (
        (
            await conn.execute(
                insert(tasks)
                .values(
                    id=task_id,
                    kind=kind,
                    status=QUEUED,
                    params=params,
                    owner_user_id=owner_user_id,
                    owner_student_id=owner_student_id,
                    deadline_at=func.now() + deadline,
                )
                .returning(*tasks.c)
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def get(engine: AsyncEngine, task_id: str) -> Row | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).mappings().first()
    return dict(row) if row else None


async def by_ids(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tasks).where(tasks.c.id.in_(list(ids))))).mappings()
        return {row["id"]: dict(row) for row in rows}


async def start(engine: AsyncEngine, task_id: str) -> Row | None:
    """Mark RUNNING and count the attempt; None when the task is unknown or already over.

    The row comes back with `overdue`: whether its deadline has passed, by the database's
    clock (the one that set the deadline)."""
    async with engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    update(tasks)
                    .where(tasks.c.id == task_id, tasks.c.status.not_in(FINISHED))
                    .values(
                        status=RUNNING,
                        attempts=tasks.c.attempts + 1,
                        started_at=func.coalesce(tasks.c.started_at, func.now()),
                    )
                    .returning(*tasks.c, (tasks.c.deadline_at < func.now()).label("overdue"))
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def succeed(conn: AsyncConnection, task_id: str, result_id: str) -> bool:
    """In the caller's transaction, so the result and the status commit together."""
    done = await conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.status.not_in(FINISHED))
        .values(status=SUCCEEDED, result_id=result_id, error=None, finished_at=func.now())
    )
    return done.rowcount == 1


async def fail(engine: AsyncEngine, task_id: str, error: str) -> bool:
    async with engine.begin() as conn:
        done = await conn.execute(
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.status.not_in(FINISHED))
            .values(status=FAILED, error=error[:2000], finished_at=func.now())
        )
    return done.rowcount == 1


async def overdue(engine: AsyncEngine, now: datetime | None = None, limit: int = 500) -> list[Row]:
    """Unfinished tasks past their deadline (candidates; the caller checks no worker holds them)."""
    deadline = func.now() if now is None else now
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(tasks.c.id, tasks.c.owner_student_id, tasks.c.kind, tasks.c.status)
            .where(tasks.c.status.in_((QUEUED, RUNNING)), tasks.c.deadline_at < deadline)
            .order_by(tasks.c.deadline_at)
            .limit(limit)
        )
        return [dict(row) for row in rows.mappings()]


async def unfinished(engine: AsyncEngine, *, settled_for: timedelta, limit: int = 500) -> list[Row]:
    """Unfinished tasks still inside their deadline and older than `settled_for` (so that
    one whose job is being queued right after its commit is not taken for lost)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(tasks.c.id, tasks.c.kind, tasks.c.status, tasks.c.deadline_at)
            .where(
                tasks.c.status.in_((QUEUED, RUNNING)),
                tasks.c.deadline_at >= func.now(),
                tasks.c.created_at < func.now() - settled_for,
            )
            .order_by(tasks.c.deadline_at)
            .limit(limit)
        )
        return [dict(row) for row in rows.mappings()]
