"""The arq worker: which jobs exist, their limits, and how a worker process is built."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arq import cron, func
from arq.connections import ArqRedis
from arq.worker import Function
from sqlalchemy.ext.asyncio import AsyncEngine

from workers.config import WorkerConfig
from workers.heartbeat import worker_name
from workers.jobs import analyze_profile, generate_quiz, train_model
from workers.keys import QUEUE_NAME
from workers.llm import LLMClient
from workers.running import LearnTwinWorker
from workers.sweep import sweep
from workers.tutor_replies import TUTOR_REPLY, tutor_reply

SWEEP_EVERY_SECONDS = 5


def build_worker(
    redis: ArqRedis,
    engine: AsyncEngine,
    config: WorkerConfig,
    *,
    handle_signals: bool = False,
    max_jobs: int = 50,
    burst: bool = False,
    jobs: Sequence[Function] = (),
) -> LearnTwinWorker:
    """A worker on the caller's Redis client and database engine; run it with
    `workers.running.keep_running`.

    A `burst` worker runs the queued jobs, and the retries they schedule, until the queue
    is empty, then its `async_run` returns: for tests and one-off runs that only need the
    work done. It runs no sweeper: each tick is queued ahead of its time, so the queue
    would seldom be empty, and finding lost work is the long-running workers' job.

    `max_jobs` runs at once: the jobs wait on the model and the network far more than they
    compute (a tutor reply streams for seconds), so one worker holds many.

    `jobs` are more functions to run, defined by the layers above (e.g. the path
    recomputes, which use the API's services)."""
    functions = [
        # `task_runs.run` decides when a task has failed; arq only counts runs (see arq_max_tries).
        func(job, name=job.__name__, timeout=config.job_timeout, max_tries=config.arq_max_tries)
        for job in (generate_quiz, analyze_profile, train_model)
    ]
    # A reply is tried twice: a second try after a crash closes it with the fallback.
    functions.append(func(tutor_reply, name=TUTOR_REPLY, timeout=config.job_timeout, max_tries=2))
    functions += list(jobs)
    # Cron timeouts count in arq's in-progress mark (the longest timeout + 10 s), which
    # decides how soon a dead worker's job runs again: keep them short. Each tick runs on
    # one worker only (cron job ids are unique per tick).
    sweeper = cron(
        sweep,
        second=set(range(0, 60, SWEEP_EVERY_SECONDS)),
        run_at_startup=True,
        timeout=min(30, config.job_timeout),
    )
    llm = LLMClient(
        api_key=config.llm_api_key,
        base_url=config.llm_base_url,
        model=config.llm_model,
        timeout=config.llm_timeout,
    )

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await llm.close()

    name = worker_name()
    ctx = {"engine": engine, "config": config, "llm": llm, "worker_name": name}
    return LearnTwinWorker(
        name=name,
        functions=functions,
        cron_jobs=[] if burst else [sweeper],
        redis_pool=redis,
        queue_name=QUEUE_NAME,
        ctx=ctx,
        on_shutdown=on_shutdown,
        handle_signals=handle_signals,
        max_jobs=max_jobs,
        burst=burst,
        job_timeout=config.job_timeout,
        max_tries=config.arq_max_tries,
        keep_result=3600,
        # A queued job waits half of this on average before a worker sees it (a tutor
        # reply's first words); polling an idle queue this often costs Redis little.
        poll_delay=0.01,
        health_check_interval=30,
        log_results=False,
    )
