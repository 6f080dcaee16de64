"""Keeping a worker at work through Redis outages.

arq's poll loop ends at the first Redis error. `keep_running` starts it again once Redis
answers. The jobs already running are left alone (their work needs only Postgres, and
they finish on their own); a Redis that restarted empty has forgotten their in-progress
marks, so those are put back first, or the sweeper would queue the jobs a second time.
The same loop runs the standalone `learntwin worker` and the one inside `learntwin serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

from workers.heartbeat import BEAT_SECONDS, beat, forget
from workers.outages import describe

log = logging.getLogger(__name__)

# Pauses between attempts to reach Redis again; short, so that a living worker is back
# (and has put its marks back) well within the sweeper's RECONNECT_GRACE.
RECONNECT_PAUSES = (0.25, 0.5, 1.0, 2.0)


class LearnTwinWorker(Worker):
    """arq's worker with a heartbeat written from its poll loop, so that a worker counts
    as live exactly while it is polling, and a `close` that finishes when Redis is down."""

    def __init__(self, *args: Any, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = name
        self._next_beat = 0.0

    async def heart_beat(self) -> None:
        await super().heart_beat()
        now = time.monotonic()
        if now >= self._next_beat:
            await beat(self.pool, self.name)
            self._next_beat = now + BEAT_SECONDS

    def running_jobs(self) -> list[str]:
        return [job_id for job_id, task in self.tasks.items() if not task.done()]

    def collect_finished(self) -> None:
        """Forget job runs that ended while the poll loop was down. The loop reads their
        outcome, and the error of one that could not report to Redis would stop the
        restarted loop at once."""
        for job_id, task in list(self.tasks.items()):
            if not task.done():
                continue
            del self.tasks[job_id]
            if not task.cancelled() and (error := task.exception()) is not None:
                log.warning("job %s ended without reporting to Redis: %s", job_id, describe(error))

    async def restore_marks(self) -> None:
        """Mark the jobs still running here as in progress again, where Redis lost the mark."""
        running = self.running_jobs()
        if not running:
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in running:
                pipe.set(
                    in_progress_key_prefix + job_id,
                    b"1",
                    px=int(self.in_progress_timeout_s * 1000),
                    nx=True,
                )
            restored = await pipe.execute()
        if any(restored):
            log.info(
                "put back the in-progress marks of %d running job(s)", sum(map(bool, restored))
            )

    def rerun_startup_crons(self) -> None:
        """Cron jobs that run at startup (the sweeper) run again after a reconnect: a
        restarted Redis may have lost queued jobs, and they are found sooner."""
        for job in self.cron_jobs:
            if job.run_at_startup:
                job.next_run = None
        self._next_beat = 0.0

    async def close(self) -> None:
        """arq's close, finishing (and closing the client) even when Redis is down."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if self._pool is None:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await forget(self.pool, self.name)
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(RedisError, OSError):
            await self.pool.aclose()
        self._pool = None


async def keep_running(worker: LearnTwinWorker) -> None:
    """Run the worker until this task is cancelled, or until a signal stops it (when the
    worker handles signals). A Redis failure only pauses it until Redis answers again."""
    current = asyncio.current_task()
    assert current is not None
    # arq's signal handler cancels its poll loop, which may not be running right now
    # (between reconnect attempts): it stops this loop too.
    worker.on_stop = lambda _signal: current.cancel()
    quick_failures = 0
    while True:
        started = time.monotonic()
        try:
            await worker.async_run()
            return
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("worker lost Redis (%s); reconnecting", describe(exc))
        except Exception:
            log.exception("worker poll loop failed; starting it again")
        # A loop that fails as soon as it starts (a flapping Redis, a bug) waits longer
        # each time, instead of spinning.
        quick_failures = quick_failures + 1 if time.monotonic() - started < 10 else 0
        worker.collect_finished()
        await _until_redis_answers(worker, first=min(quick_failures, len(RECONNECT_PAUSES) - 1))
        with contextlib.suppress(RedisError, OSError):  # lost again: the loop fails and waits
            await worker.restore_marks()
        worker.rerun_startup_crons()
        log.info("worker reconnected to Redis")


async def _until_redis_answers(worker: LearnTwinWorker, first: int = 0) -> None:
    attempt = first
    while True:
        await asyncio.sleep(RECONNECT_PAUSES[min(attempt, len(RECONNECT_PAUSES) - 1)])
        attempt += 1
        try:
            await worker.pool.ping()
            return
        except (RedisError, OSError):
            continue
