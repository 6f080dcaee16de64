"""Creating tasks and queueing their jobs: the row first, then the job under the same id.

This is the side the API processes use; the side that runs the jobs is `task_runs`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import tasks
from workers.config import WorkerConfig


class QueueUnavailable(Exception):
    """The job could not be queued; the task was marked FAILED."""


async def create(
    conn: AsyncConnection,
    config: WorkerConfig,
    *,
    kind: str,
    params: dict[str, Any],
    owner_user_id: int | None,
    owner_student_id: str | None,
) -> dict[str, Any]:
    """The task row, inside the caller's transaction; `enqueue` it after the commit."""
    return await tasks.create(
        conn,
        task_id=str(uuid.uuid4()),
        kind=kind,
        params=params,
        owner_user_id=owner_user_id,
        owner_student_id=owner_student_id,
        deadline=config.deadline,
    )


async def enqueue(engine: AsyncEngine, redis: ArqRedis, task: dict[str, Any], job: str) -> None:
    """Queue the job under the task's id. If Redis refuses, the task is FAILED at once, so
    no row is ever left QUEUED without a job."""
    try:
        await redis.enqueue_job(job, task["id"], _job_id=task["id"], deadline=deadline_of(task))
    except (RedisError, OSError) as exc:
        await tasks.fail(engine, task["id"], f"could not be queued: {type(exc).__name__}")
        raise QueueUnavailable(str(exc)) from exc


def deadline_of(task: dict[str, Any]) -> float:
    """The task's deadline as a Unix time, carried by its job: a run that cannot reach
    Postgres still knows how long it may wait for it."""
    deadline: datetime = task["deadline_at"]
    return deadline.timestamp()
