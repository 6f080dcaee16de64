"""The background job that recomputes one student's plans (paths and recommendations),
coalesced per student by workers.plan_queue; registered with the workers this package
starts (`Runtime.start_worker`, the tests' burst workers)."""

from __future__ import annotations

import logging
from typing import Any

from arq import func

from learntwin_graphql.services import plans
from workers import plan_queue

log = logging.getLogger(__name__)

# Marks taken and recomputed in one run of the job before it gives way to other jobs
# (the sweeper queues it again for a student still marked).
ROUNDS = 5


async def recompute_plans(ctx: dict[str, Any], student_id: str) -> int:
    """Recompute while the student is marked dirty; returns the rounds run."""
    redis = ctx["redis"]
    for rounds in range(ROUNDS):
        trigger = await plan_queue.take(redis, student_id)
        if trigger is None:
            return rounds
        try:
            await plans.recompute(ctx["engine"], redis, student_id, trigger)
        except BaseException:
            await plan_queue.restore(redis, student_id, trigger)  # arq tries the job again
            raise
    return ROUNDS


# keep_result=0: arq keeps no result under the student's job id, so the next change can
# queue the job again as soon as this run ends (arq #432).
JOBS = [func(recompute_plans, name=plan_queue.RECOMPUTE_PLANS, keep_result=0, max_tries=3)]
