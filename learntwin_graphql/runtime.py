"""Everything a process holds for its lifetime: engine, Redis, embedded servers, worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.embedded import EmbeddedPostgres, EmbeddedRedis
from db.engine import autocommit, create_engine
from db.migrate import migrate
from learntwin_graphql.broker import Broker
from learntwin_graphql.config import Settings, worker_config
from learntwin_graphql.model_registry import ModelRegistry
from learntwin_graphql.throttle import Limiter
from workers.config import WorkerConfig
from workers.redis import connect
from workers.running import LearnTwinWorker, keep_running
from workers.settings import build_worker

log = logging.getLogger("learntwin")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    redis: ArqRedis
    database_url: str
    redis_url: str
    broker: Broker = field(init=False)
    models: ModelRegistry = field(init=False)
    limiter: Limiter = field(init=False)
    # The same pool for single-statement reads, without BEGIN/ROLLBACK round trips.
    reads: AsyncEngine = field(init=False)
    _embedded: list[Any] = field(default_factory=list, repr=False)
    _worker: LearnTwinWorker | None = field(default=None, repr=False)
    _worker_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.broker = Broker(self.redis_url)
        self.models = ModelRegistry(self.engine, self.broker)
        self.limiter = Limiter(self.redis)
        self.reads = autocommit(self.engine)

    @property
    def embedded(self) -> bool:
        return bool(self._embedded)

    @property
    def worker_config(self) -> WorkerConfig:
        return worker_config(self.settings)

    @property
    def has_worker(self) -> bool:
        return self._worker_task is not None

    @classmethod
    async def start(
        cls, settings: Settings, *, run_migrations: bool | None = None, worker: bool = False
    ) -> Runtime:
        """Connect to (or start) Postgres and Redis; migrate when embedded or asked to."""
        embedded: list[Any] = []
        try:
            database_url = await _configured_or_embedded(
                settings.database_url, EmbeddedPostgres(settings.data_dir), embedded
            )
            redis_url = await _configured_or_embedded(
                settings.redis_url, EmbeddedRedis(settings.data_dir), embedded
            )
        except BaseException:
            await _stop_all(embedded)
            raise

        engine = create_engine(database_url, pool_size=settings.db_pool_size)
        runtime = cls(
            settings=settings,
            engine=engine,
            redis=connect(redis_url),
            database_url=database_url,
            redis_url=redis_url,
            _embedded=embedded,
        )
        try:
            if run_migrations if run_migrations is not None else settings.database_url is None:
                await migrate(engine)
            if worker:
                runtime.start_worker()
        except BaseException:
            await runtime.close()
            raise
        return runtime

    def start_worker(self, *, handle_signals: bool = False) -> asyncio.Task[None]:
        """Run a worker in this process until `close`; it rides out Redis outages
        (`keep_running`). With `handle_signals`, SIGINT/SIGTERM stop it too."""
        # The worker gets a client of its own: it closes that client when it stops.
        self._worker = self.build_worker(handle_signals=handle_signals)
        self._worker_task = asyncio.create_task(keep_running(self._worker), name="arq-worker")
        return self._worker_task

    def build_worker(self, **options: Any) -> LearnTwinWorker:
        """A worker on a Redis client of its own that runs every job, the API's too."""
        from learntwin_graphql.services.plan_jobs import JOBS  # services import Runtime

        return build_worker(
            connect(self.redis_url), self.engine, self.worker_config, jobs=JOBS, **options
        )

    async def _stop_worker(self, task: asyncio.Task[None], seconds: float = 10) -> None:
        """Cancel the worker until it ends: a cancellation that lands inside a Redis call
        can be swallowed there, leaving arq's poll loop running, so it is repeated (and
        sent to arq's own main task too) until the worker stops or `seconds` pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not task.done() and loop.time() < deadline:
            task.cancel()
            main = self._worker.main_task if self._worker is not None else None
            if main is not None:
                main.cancel()
            await asyncio.wait({task}, timeout=0.2)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
        elif not task.done():
            log.warning("the worker did not stop within %.0f s", seconds)

    async def close(self) -> None:
        if self._worker_task is not None:
            await self._stop_worker(self._worker_task)
            if self._worker is not None:
                # Bounded: a job stuck in a thread must not hold the process open.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._worker.close(), 10)
        await self.models.close()
        await self.broker.close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        await self.engine.dispose()
        await _stop_all(self._embedded)

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _configured_or_embedded(url: str | None, server: Any, started: list[Any]) -> str:
    """The configured URL, or the URL of the embedded server, started (and remembered)."""
    if url is not None:
        return url
    url = await asyncio.to_thread(server.start)
    started.append(server)
    return url


async def _stop_all(servers: list[Any]) -> None:
    for server in reversed(servers):
        await asyncio.to_thread(server.stop)
    servers.clear()


@contextlib.asynccontextmanager
async def database_only(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Just the database (embedded when unconfigured), for commands that need no Redis."""
    started: list[Any] = []
    url = await _configured_or_embedded(
        settings.database_url, EmbeddedPostgres(settings.data_dir), started
    )
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()
        await _stop_all(started)
