"""The sweeper: no task is left QUEUED or RUNNING forever, whatever Redis forgot.

Postgres is the source of truth for tasks; Redis (which may keep nothing on disk) only
carries their jobs. Every few seconds one worker compares the two:

- A task past its deadline that no worker holds (no in-progress mark) is FAILED, with
  the reason its last try gave, when arq kept one.
- A task inside its deadline whose job Redis no longer has (Redis restarted or was
  flushed, or the job ended in arq without finishing the task) is queued again under
  the same id. That is safe because every job stores its result keyed by the task id:
  running one again never stores anything twice. A RUNNING task is only queued again
  once Redis has been up for RECONNECT_GRACE: a worker still running it reconnects
  within that time and puts its in-progress mark back, so it is not run twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import Job
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import learner_model as levels_db
from db import recommendations as recommendations_db
from db import tasks
from db.engine import asyncpg_connection
from workers import plan_queue
from workers.config import WorkerConfig
from workers.events import publish
from workers.jobs import JOB_FOR_KIND
from workers.keys import REVIEWS_SWEPT_AT, recommendation_channel, task_channel
from workers.outages import describe
from workers.queueing import deadline_of
from workers.tutor_replies import settle_abandoned

log = logging.getLogger(__name__)

OVERDUE_REASON = "deadline passed with no worker running the task"
# Between a task's commit and its job's enqueue there is a moment with no job: a task
# younger than this is never taken for lost.
SETTLE = timedelta(seconds=5)
RECONNECT_GRACE_SECONDS = 5


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """The cron job: fail the overdue, queue the lost again."""
    return {
        "failed": await sweep_overdue(ctx),
        "requeued": await requeue_lost(ctx),
        "plans": await requeue_plans(ctx),
        "reviews": await mark_due_reviews(ctx),
        "expired": await expire_recommendations(ctx),
        "replies": await settle_abandoned(ctx, _reply_grace(ctx)),
    }


def _reply_grace(ctx: dict[str, Any]) -> float:
    """How old an unfinished reply must be before it counts as abandoned: past both
    tries of its job (each up to the job timeout) and arq's pick-up of the second."""
    config: WorkerConfig = ctx["config"]
    return 2 * (config.job_timeout + 10) + SETTLE.total_seconds()


async def expire_recommendations(ctx: dict[str, Any]) -> int:
    """Recommendations unanswered for 7 days are EXPIRED (and pushed) on time, not only
    at the student's next recompute; returns how many students had one."""
    engine: AsyncEngine = ctx["engine"]
    async with engine.begin() as conn:
        students = await recommendations_db.expire_due(await asyncpg_connection(conn))
    await publish(ctx["redis"], [recommendation_channel(s) for s in students])
    # What replaces them (the same target, if still warranted) is made by a recompute.
    await plan_queue.mark(ctx["redis"], students, "MASTERY_CHANGED")
    return len(students)


async def mark_due_reviews(ctx: dict[str, Any]) -> int:
    """Mark the students whose FSRS reviews fell due since the last sweep (time alone
    changes their paths and recommendations); returns how many."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    now = datetime.now(UTC)
    previous = await redis.get(REVIEWS_SWEPT_AT)
    if previous is not None:
        after = datetime.fromisoformat(
            previous.decode() if isinstance(previous, bytes) else previous
        )
        students = await levels_db.students_due_between(engine, after, now)
        await plan_queue.mark(redis, students, "REVIEW_DUE")
    # Moved on only once the window's students are marked: a failed sweep is retried.
    await redis.set(REVIEWS_SWEPT_AT, now.isoformat())
    return len(students) if previous is not None else 0


async def requeue_plans(ctx: dict[str, Any]) -> int:
    """Queue the path recompute of every student still marked dirty (a mark set while
    the student's job was finishing found no job to run it)."""
    redis: ArqRedis = ctx["redis"]
    students = await plan_queue.dirty(redis)
    for student in students:
        await plan_queue.queue(redis, student)
    return len(students)


async def sweep_overdue(ctx: dict[str, Any]) -> int:
    """Fail tasks past their deadline that no worker holds (a lost job, a dead worker's
    last try, a try that gave up on an outage); returns how many were failed."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    failed = 0
    for task in await tasks.overdue(engine):
        if await redis.exists(in_progress_key_prefix + task["id"]):
            continue
        last = await _last_failure(redis, task["id"])
        reason = OVERDUE_REASON if last is None else f"{OVERDUE_REASON}; its last try: {last}"
        if await tasks.fail(engine, task["id"], reason):
            failed += 1
            await publish(redis, [task_channel(task["id"])])
    return failed


async def requeue_lost(ctx: dict[str, Any]) -> int:
    """Queue again the unfinished tasks inside their deadline that have no job in Redis;
    returns how many were queued."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    candidates = await tasks.unfinished(engine, settled_for=SETTLE)
    if not candidates:
        return 0
    # One snapshot (MULTI/EXEC): arq sets and clears these keys in transactions of its own.
    async with redis.pipeline(transaction=True) as pipe:
        for task in candidates:
            pipe.exists(in_progress_key_prefix + task["id"], job_key_prefix + task["id"])
        present = await pipe.execute()
    uptime = await _uptime(redis)
    requeued = 0
    for task, keys in zip(candidates, present, strict=True):
        if keys:  # held by a worker, or waiting in the queue
            continue
        if task["status"] == tasks.RUNNING and uptime < RECONNECT_GRACE_SECONDS:
            continue  # its worker may be alive and about to put its mark back
        if await _queue_again(engine, redis, task):
            requeued += 1
    return requeued


async def _uptime(redis: ArqRedis) -> int:
    """Seconds since Redis started. A Redis that will not say (INFO disabled) counts as
    settled: queueing a task twice costs a duplicate run, never a duplicate result."""
    try:
        return int((await redis.info("server"))["uptime_in_seconds"])
    except (ResponseError, KeyError, ValueError):
        return RECONNECT_GRACE_SECONDS


async def _queue_again(engine: AsyncEngine, redis: ArqRedis, task: dict[str, Any]) -> bool:
    job = JOB_FOR_KIND.get(task["kind"])
    if job is None:
        if await tasks.fail(engine, task["id"], f"no job runs tasks of kind {task['kind']}"):
            await publish(redis, [task_channel(task["id"])])
        return False
    # A result kept from a job that ended without finishing the task would make arq refuse
    # the id (arq #432); the task row, not that result, says what is left to do.
    await redis.delete(result_key_prefix + task["id"])
    queued = await redis.enqueue_job(
        job, task["id"], _job_id=task["id"], deadline=deadline_of(task)
    )
    if queued is not None:
        log.warning("task %s (%s) had no job in Redis; queued it again", task["id"], task["status"])
    return queued is not None


async def _last_failure(redis: ArqRedis, job_id: str) -> str | None:
    """Why arq says the task's job last failed, when it kept a result saying so."""
    try:
        info = await Job(job_id, redis).result_info()
    except Exception:  # an unreadable result says nothing; the plain reason stands
        return None
    if info is None or info.success:
        return None
    result = info.result
    return describe(result) if isinstance(result, BaseException) else str(result)
