"""Coalesced recomputes of a student's paths and recommendations.

Any change that can move a path (a mastery change, a goal edit, a change of course
content) marks the student dirty and queues the student's job. arq keeps one job per
id, so a burst of changes costs one recompute; a change that lands while the job runs
leaves the mark set and the job runs once more (`take` empties it first)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from workers.keys import PLANS_DIRTY, plans_job_id

log = logging.getLogger(__name__)

RECOMPUTE_PLANS = "recompute_plans"
# Changes this close together are recomputed once.
COALESCE_SECONDS = 0.2
# Beyond this many students, a mark leaves the queueing to the sweeper rather than
# costing the request one round trip per student.
QUEUE_AT_ONCE = 20


async def mark(redis: ArqRedis, student_ids: Iterable[str], trigger: str) -> None:
    """After the commit: these students' plans are stale because of `trigger`. A Redis
    outage costs only the push; the next change, or a read, recomputes."""
    students = list(dict.fromkeys(student_ids))
    if not students:
        return
    try:
        await redis.hset(PLANS_DIRTY, mapping=dict.fromkeys(students, trigger))
        if len(students) > QUEUE_AT_ONCE:
            return  # many at once (a course edit): the sweeper queues them within seconds
        for student in students:
            await queue(redis, student)
    except (RedisError, OSError):
        log.warning("could not queue the path recompute of %d student(s)", len(students))


async def queue(redis: ArqRedis, student_id: str) -> None:
    """The student's job, unless one is queued already (arq refuses the same id)."""
    await redis.enqueue_job(
        RECOMPUTE_PLANS, student_id, _job_id=plans_job_id(student_id), _defer_by=COALESCE_SECONDS
    )


async def take(redis: ArqRedis, student_id: str) -> str | None:
    """What made the student dirty, clearing the mark; None when it is clean."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hget(PLANS_DIRTY, student_id)
        pipe.hdel(PLANS_DIRTY, student_id)
        trigger, _ = await pipe.execute()
    return trigger.decode() if isinstance(trigger, bytes) else trigger


async def restore(redis: ArqRedis, student_id: str, trigger: str) -> None:
    """Mark the student again after a recompute that failed (unless a newer mark is set)."""
    await redis.hsetnx(PLANS_DIRTY, student_id, trigger)


async def dirty(redis: ArqRedis) -> list[str]:
    """Every student still marked (for the sweeper)."""
    return [k.decode() if isinstance(k, bytes) else k for k in await redis.hkeys(PLANS_DIRTY)]
