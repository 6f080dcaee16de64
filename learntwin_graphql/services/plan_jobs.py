"""The background job that recomputes one student's plans (paths and recommendations),
coalesced per student by workers.plan_queue; registered with the workers this package
starts (`Runtime.start_worker`, the tests' burst workers)."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry, func

from learntwin_graphql.services import plans
from workers import plan_queue

log = logging.getLogger(__name__)

# Marks taken and recomputed in one run of the job before it gives way to other jobs
# (the sweeper queues it again for a student still marked).
ROUNDS = 5
MAX_TRIES = 3


async def recompute_plans(ctx: dict[str, Any], student_id: str) -> int:
    """Recompute while the student is marked dirty; returns the rounds run."""
    redis = ctx["redis"]
    for rounds in range(ROUNDS):
        trigger = await plan_queue.take(redis, student_id)
        if trigger is None:
            return rounds
        try:
            await plans.recompute(ctx["engine"], redis, student_id, trigger)
        except Exception as exc:
            await plan_queue.restore(redis, student_id, trigger)
            if ctx.get("job_try", 1) < MAX_TRIES:  # arq retries only on Retry
                raise Retry(defer=ctx.get("job_try", 1)) from exc
            raise  # the mark stays: the sweeper queues the student again
    return ROUNDS


# keep_result=0: arq keeps no result under the student's job id, so the next change can
# queue the job again as soon as this run ends (arq #432).
JOBS = [func(recompute_plans, name=plan_queue.RECOMPUTE_PLANS, keep_result=0, max_tries=MAX_TRIES)]
