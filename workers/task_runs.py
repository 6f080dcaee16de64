"""Running a task's job: one try at a time, under the retry policy.

The enqueuing side (creating the row, queueing the job) is `queueing`; this is what a
worker does with the job once arq hands it over."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Retry
from sqlalchemy.ext.asyncio import AsyncEngine

from db import tasks
from workers.config import WorkerConfig
from workers.events import publish
from workers.keys import task_channel
from workers.outages import BookkeepingStalled, describe, is_outage

log = logging.getLogger(__name__)

# What a job does once its task is RUNNING: store the result and mark SUCCEEDED in one
# transaction, and return the channels (beside the task's own) to notify.
Work = Callable[[dict[str, Any], dict[str, Any], AsyncEngine], Awaitable[list[str]]]


async def run(ctx: dict[str, Any], task_id: str, work: Work, deadline: float | None = None) -> None:
    """Run one try of a task's job. The retry policy:

    - Every try first marks the task RUNNING, counting it in `attempts`.
    - The work stores its result and marks SUCCEEDED in one transaction, keyed by the task
      id, so a try that runs again finds the stored result instead of storing another.
    - A failure of the work itself is retried after `config.backoff` while the task has had
      fewer than `config.max_tries` tries; the last one marks FAILED with the reason.
    - An outage (Postgres or Redis out of reach, at any step: marking RUNNING, the work's
      reads and writes, marking FAILED) is not the work's fault: the try is run again after
      `config.outage_pause`, uncounted by the limit above, until the task's deadline has
      passed. Only then does it give up, leaving the reason in arq's result, from which
      the sweeper marks the task FAILED once Postgres answers.
    - A try that starts after the deadline when `max_tries` tries have already begun (and
      never reported back: their worker died, or they met outages) gives up.
    """
    config: WorkerConfig = ctx["config"]
    if deadline is None:  # a job queued without one: the deadline it was created with
        queued: datetime = ctx.get("enqueue_time") or datetime.now(UTC)
        deadline = queued.timestamp() + config.deadline.total_seconds()
    try:
        # Below arq's own timeout, so that a stalled try ends here, as a retry, rather than
        # in arq as a failure nobody records.
        async with asyncio.timeout(max(config.job_timeout - 1, 1)) as budget:
            await _try(ctx, task_id, work)
    except Retry:
        raise
    except Exception as exc:
        stalled = isinstance(exc, TimeoutError) and budget.expired()
        if not (stalled or is_outage(exc)):
            raise
        reason = "Postgres or Redis did not answer in time" if stalled else describe(exc)
        remaining = deadline - time.time()
        if remaining <= 0:
            log.error("task %s: %s, and its deadline has passed; giving up", task_id, reason)
            if stalled:
                raise BookkeepingStalled(reason) from exc
            raise
        # The last pause ends at the deadline: the task gets every moment it was given.
        pause = min(config.outage_pause(int(ctx.get("job_try", 1))), remaining)
        log.warning("task %s: %s; trying again in %.1f s", task_id, reason, pause)
        raise Retry(defer=pause) from exc


async def _try(ctx: dict[str, Any], task_id: str, work: Work) -> None:
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    config: WorkerConfig = ctx["config"]
    task = await tasks.start(engine, task_id)
    if task is None:
        return
    if task["overdue"] and task["attempts"] > config.max_tries:
        reason = f"gave up after {task['attempts'] - 1} tries that did not finish by the deadline"
        log.error("task %s: %s", task_id, reason)
        await tasks.fail(engine, task_id, reason)
        await publish(redis, [task_channel(task_id)])
        return
    await publish(redis, [task_channel(task_id)])
    try:
        # Our own limit, below arq's, so a slow try ends in a retry rather than limbo.
        async with asyncio.timeout(max(config.job_timeout - 5, 1)):
            channels = await work(ctx, task, engine)
    except Exception as exc:
        if is_outage(exc):
            raise  # not the work's fault: `run` retries it without counting it
        reason = describe(exc)
        if task["attempts"] < config.max_tries:
            log.warning("task %s try %d failed (%s); retrying", task_id, task["attempts"], reason)
            raise Retry(defer=config.backoff(task["attempts"])) from exc
        log.error("task %s failed after %d tries: %s", task_id, task["attempts"], reason)
        # An outage here is retried by `run` too: that try runs the work once more.
        await tasks.fail(engine, task_id, reason)
        channels = []
    await publish(redis, [task_channel(task_id), *channels])
