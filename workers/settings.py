"""The arq worker: which jobs exist, their limits, and how a worker process is built."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from workers.heartbeat import heartbeat, worker_name
from workers.redis import QUEUE_NAME

FUNCTIONS: list[Any] = []
CRON_JOBS = [cron(heartbeat, second={0, 10, 20, 30, 40, 50}, run_at_startup=True, timeout=5)]


def build_worker(
    redis: ArqRedis,
    engine: AsyncEngine,
    *,
    extra_ctx: dict[str, Any] | None = None,
    handle_signals: bool = False,
    max_jobs: int = 10,
) -> Worker:
    """A worker sharing the caller's Redis client and database engine."""
    ctx = {"engine": engine, "worker_name": worker_name(), **(extra_ctx or {})}
    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS,
        redis_pool=redis,
        queue_name=QUEUE_NAME,
        ctx=ctx,
        handle_signals=handle_signals,
        max_jobs=max_jobs,
        keep_result=3600,
        poll_delay=0.1,
        health_check_interval=30,
        log_results=False,
    )
