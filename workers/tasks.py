"""Creating tasks and running them: the row first, then the job under the same id."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Retry
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import tasks
from workers.config import WorkerConfig
from workers.events import publish

log = logging.getLogger(__name__)


def task_channel(task_id: str) -> str:
    return f"task:{task_id}"


def profile_channel(student_id: str) -> str:
    return f"profile:{student_id}"


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
        await redis.enqueue_job(job, task["id"], _job_id=task["id"])
    except (RedisError, OSError) as exc:
        await tasks.fail(engine, task["id"], f"could not be queued: {type(exc).__name__}")
        raise QueueUnavailable(str(exc)) from exc


Work = Callable[[dict[str, Any], dict[str, Any], AsyncEngine], Awaitable[list[str]]]


async def run(ctx: dict[str, Any], task_id: str, work: Work) -> None:
    """Run a task's job: RUNNING, the work (which stores its result and marks SUCCEEDED in
    one transaction, returning extra channels to notify), then the notifications.

    Safe to run twice: a finished task is left alone, and the work stores results keyed by
    the task id. Failures are retried with growing pauses; the last one marks FAILED."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    config: WorkerConfig = ctx["config"]
    task = await tasks.start(engine, task_id)
    if task is None:
        return
    await publish(redis, [task_channel(task_id)])
    try:
        # Our own limit, below arq's, so a slow try ends in a retry rather than limbo.
        async with asyncio.timeout(max(config.job_timeout - 5, 1)):
            channels = await work(ctx, task, engine)
    except Exception as exc:
        job_try = int(ctx.get("job_try", 1))
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if job_try < config.max_tries:
            log.warning("task %s try %d failed (%s); retrying", task_id, job_try, reason)
            raise Retry(defer=config.backoff(job_try)) from exc
        log.error("task %s failed after %d tries: %s", task_id, job_try, reason)
        await tasks.fail(engine, task_id, reason)
        channels = []
    await publish(redis, [task_channel(task_id), *channels])


async def sweep_overdue(ctx: dict[str, Any]) -> int:
    """Fail tasks past their deadline that no worker holds (a lost job, a dead worker's
    last try); returns how many were failed."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    failed = 0
    for task in await tasks.overdue(engine):
        if await redis.exists(in_progress_key_prefix + task["id"]):
            continue
        if await tasks.fail(engine, task["id"], "deadline passed with no worker running the task"):
            failed += 1
            await publish(redis, [task_channel(task["id"])])
    return failed
