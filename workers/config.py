"""What a worker needs to know, handed over by whoever builds it (CLI or API process)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

MAX_TRIES = 3
# Pauses between the runs of a task whose try met an outage: short, so that work goes on
# within seconds of Postgres or Redis coming back, and capped, so a long outage costs
# one connection attempt per waiting task every few seconds.
OUTAGE_PAUSE_CAP = 5.0


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """The job timeout, the LLM's endpoint, and the retry policy's numbers.

    The settings have no defaults here: `learntwin_graphql.config.Settings` is the one
    place for those, and `worker_config(settings)` builds this from it. Only the policy
    (`max_tries` and what derives from it and the timeout) is this module's own.

    `max_tries` bounds the tries that fail because of the work itself. A try that meets an
    outage is not one of them: it is run again after `outage_pause` for as long as the
    task's `deadline` allows, so an outage shorter than the deadline costs time, never
    the task."""

    job_timeout: float  # seconds, per try
    llm_api_key: str | None
    llm_base_url: str | None
    llm_model: str
    llm_timeout: float  # seconds, per LLM request
    max_tries: int = MAX_TRIES

    def backoff(self, job_try: int) -> float:
        """Seconds before try `job_try + 1` after a failure of the work: 2, 4, 8, …"""
        return float(2**job_try)

    def outage_pause(self, job_try: int) -> float:
        """Seconds before running again a job whose run `job_try` met an outage: 1, 2, 4, 5, 5, …"""
        # The exponent is bounded: arq may count hundreds of runs of one job.
        return min(2.0 ** min(max(job_try - 1, 0), 16), OUTAGE_PAUSE_CAP)

    @property
    def deadline(self) -> timedelta:
        """How long a task may stay unfinished: every try may run to its timeout, and a try
        lost with its worker is only retried once arq's in-progress mark (timeout + 10 s)
        has expired; a minute on top for the queue."""
        tries = self.max_tries * (self.job_timeout + 10)
        pauses = sum(self.backoff(t) for t in range(1, self.max_tries))
        return timedelta(seconds=tries + pauses + 60)

    @property
    def arq_max_tries(self) -> int:
        """The runs arq allows a job. Our own policy decides when a task has failed, so arq
        must never refuse a run first (it would end the job without a word to Postgres):
        the tries of the work plus one run per second of the deadline, more than outage
        retries (at least a second apart) can use."""
        return self.max_tries + math.ceil(self.deadline.total_seconds())
