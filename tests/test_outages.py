"""Background work survives short outages of real servers: a Postgres stopped under tasks
in flight, a Redis killed (and restarted empty) under a standalone worker, queued jobs
and running ones; and `/readyz` tells anonymous callers what is down, never why."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from arq.constants import in_progress_key_prefix, job_key_prefix
from sqlalchemy import func, select
from starlette.types import Receive, Scope, Send

from db import tasks as task_rows
from db.embedded import EmbeddedPostgres
from db.tables import quiz_questions, quizzes
from learntwin_graphql.auth import issue_token
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Services,
    clean,
    free_port,
    make_settings,
    wait_for_task,
)
from tests.fake_llm import FakeLLM, build_app
from tests.test_reliability import RedisProcess, redis_process, serving  # noqa: F401 (fixture)
from tests.test_worker_crash import (
    WorkerProcesses,
    lone_task,
    wait_for_status,
    worker_env,
    worker_processes,  # noqa: F401 (fixture)
)
from workers import queueing
from workers.heartbeat import TTL_SECONDS
from workers.sweep import RECONNECT_GRACE_SECONDS, requeue_lost, sweep_overdue

pytestmark = pytest.mark.slow

GENERATE = "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id status } }"
CREATE_KEY = "mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { key } }"
REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token } }"
QUESTIONS = 3
BUDGET_SECONDS = 90


@dataclass
class GatedLLM:
    """The fake LLM (answering well) behind a gate: a request is counted when it arrives
    and answered only once the gate is open, so a test decides when work is in flight."""

    port: int
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@contextlib.asynccontextmanager
async def serving_gated_llm() -> AsyncIterator[GatedLLM]:
    inner = build_app(FakeLLM())
    llm = GatedLLM(port=free_port())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            llm.arrived += 1
            await llm.gate.wait()
        await inner(scope, receive, send)

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=llm.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    try:
        yield llm
    finally:
        llm.gate.set()  # held requests are answered, so the server can stop
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 5)


async def until(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Poll `check` until it holds; returns the seconds it took."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def counted_workers(http: httpx.AsyncClient) -> int | None:
    response = await http.get("/readyz")
    return response.json().get("workers") if response.status_code == 200 else None


async def quizzes_of(runtime: Runtime, task_id: str) -> list[tuple[str, int]]:
    """(source, number of questions) of every quiz stored for the task."""
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(quizzes.c.source, func.count(quiz_questions.c.id))
            .join(quiz_questions, quiz_questions.c.quiz_id == quizzes.c.id)
            .where(quizzes.c.task_id == task_id)
            .group_by(quizzes.c.id)
        )
        return [(row[0], row[1]) for row in rows]


async def generate(gql: GraphQLClient, topic: str) -> str:
    body = await gql(GENERATE, {"i": {"topic": topic, "questionCount": QUESTIONS}})
    assert "errors" not in body, body
    return body["data"]["generateQuiz"]["id"]


@dataclass
class Stage:
    """An API runtime (no worker of its own) and standalone workers, on a private Redis."""

    llm: GatedLLM
    runtime: Runtime
    http: httpx.AsyncClient
    gql: GraphQLClient


@contextlib.asynccontextmanager
async def standalone_stage(
    services: Services, redis: RedisProcess, workers: WorkerProcesses, tmp: Path
) -> AsyncIterator[Stage]:
    await clean(services)
    async with serving_gated_llm() as llm:
        workers.env = worker_env(services, llm.base_url, tmp)
        # Long enough for a try to wait at the gate through the whole outage.
        workers.env.update({"REDIS_URL": redis.url, "LEARNTWIN_JOB_TIMEOUT": "30"})
        settings = make_settings(services, REDIS_URL=redis.url)
        async with (
            asyncio.timeout(BUDGET_SECONDS),
            await Runtime.start(settings, run_migrations=False) as runtime,
            serving(runtime) as http,
        ):
            try:
                yield Stage(llm, runtime, http, GraphQLClient(http))
            except BaseException:
                print(workers.output())
                raise


async def test_readyz_shows_error_details_to_staff_only(services: Services) -> None:
    await clean(services)
    # Nothing listens on this port: Redis is down from the start.
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with (
        asyncio.timeout(BUDGET_SECONDS),
        await Runtime.start(settings, run_migrations=False) as runtime,
        serving(runtime) as http,
    ):
        gql = GraphQLClient(http)
        instructor_key = (await gql(CREATE_KEY, {"n": "ops", "r": "INSTRUCTOR"}))["data"][
            "createApiKey"
        ]["key"]
        account = {"email": "probe@example.org", "password": "0123456789", "studentId": "s-1"}
        learner = (await gql(REGISTER, {"i": account}, api_key=None))["data"]["register"]["token"]
        instructor_token = issue_token(
            {"id": 999, "role": "INSTRUCTOR", "student_id": None}, settings
        )

        hidden = {
            "status": "degraded",
            "checks": {"postgres": "ok", "redis": "down"},
            "down": ["redis"],
        }
        for headers in (
            {},
            {"Authorization": f"Bearer {learner}"},
            {"X-API-Key": "lt_not-a-key"},  # wrong credentials hide the details, never a 401
            {"Authorization": "Basic eDp5"},
        ):
            response = await http.get("/readyz", headers=headers)
            assert response.status_code == 503, headers
            assert response.json() == hidden, headers

        for headers in (
            {"X-API-Key": ADMIN_KEY},
            {"X-API-Key": instructor_key},
            {"Authorization": f"Bearer {instructor_token}"},
        ):
            response = await http.get("/readyz", headers=headers)
            assert response.status_code == 503, headers
            report = response.json()
            assert {k: v for k, v in report.items() if k != "errors"} == hidden, headers
            assert set(report["errors"]) == {"redis"} and "Error" in report["errors"]["redis"]


class PrivatePostgres:
    """A Postgres of the test's own, stopped and started again on the same socket (so
    engines built from its URL reach the new server)."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.server = EmbeddedPostgres(where)
        self.url = self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = EmbeddedPostgres(self.where)
        assert self.server.start() == self.url


@contextlib.asynccontextmanager
async def private_postgres(where: Path) -> AsyncIterator[PrivatePostgres]:
    pg = await asyncio.to_thread(PrivatePostgres, where)
    try:
        yield pg
    finally:
        await asyncio.to_thread(pg.stop)


async def test_tasks_in_flight_through_a_postgres_outage_succeed_and_store_once(
    services: Services, tmp_path: Path
) -> None:
    await clean(services)  # the shared Redis: no jobs left from earlier tests
    count = 8
    async with private_postgres(tmp_path / "pg") as pg, serving_gated_llm() as llm:
        settings = make_settings(
            services,
            DATABASE_URL=pg.url,
            LEARNTWIN_JOB_TIMEOUT=10,
            OPENAI_API_KEY="k",
            OPENAI_BASE_URL=llm.base_url,
        )
        async with (
            asyncio.timeout(BUDGET_SECONDS),
            await Runtime.start(settings, run_migrations=True) as runtime,
            serving(runtime) as http,
        ):
            gql = GraphQLClient(http)
            runtime.start_worker()
            ids = [await generate(gql, f"outage {n}") for n in range(count)]

            async def all_in_flight() -> bool:
                return llm.arrived >= count

            await until(all_in_flight, 20, "every first try inside its LLM call")
            await asyncio.to_thread(pg.stop)
            llm.gate.set()  # the answers come back with nowhere to store them
            # Long enough for several runs of each job to meet the outage at their first
            # step (marking RUNNING), beyond the old three-try budget.
            await asyncio.sleep(8)
            await asyncio.to_thread(pg.start)

            for task_id in ids:
                done = await wait_for_task(gql, task_id, seconds=30)
                assert done["status"] == "SUCCEEDED" and done["error"] is None, done
                row = await task_rows.get(runtime.engine, task_id)
                # The try that met the outage mid-work, and the one after it; the runs
                # that could not even mark RUNNING are not counted.
                assert row is not None and row["attempts"] == 2, row
                assert await quizzes_of(runtime, task_id) == [("LLM", QUESTIONS)]
            assert llm.arrived == 2 * count


async def test_a_task_whose_database_stays_down_past_its_deadline_fails_with_the_outage(
    services: Services, tmp_path: Path
) -> None:
    await clean(services)
    async with private_postgres(tmp_path / "pg") as pg:
        settings = make_settings(services, DATABASE_URL=pg.url, LEARNTWIN_JOB_TIMEOUT=5)
        async with (
            asyncio.timeout(BUDGET_SECONDS),
            await Runtime.start(settings, run_migrations=True) as runtime,
        ):
            task = await lone_task(runtime, "BEGINNER", timedelta(seconds=4))
            await asyncio.to_thread(pg.stop)
            await queueing.enqueue(runtime.engine, runtime.redis, task, "generate_quiz")
            runtime.start_worker()

            # The job waits for the database until the deadline, then gives up in arq.
            async def ended_in_arq() -> bool:
                return not await runtime.redis.exists(job_key_prefix + task["id"])

            await until(ended_in_arq, 20, "the job to give up")
            await asyncio.to_thread(pg.start)

            await sweep_overdue({"engine": runtime.engine, "redis": runtime.redis})
            row = await task_rows.get(runtime.engine, task["id"])
            assert row is not None and row["status"] == "FAILED", row
            # The true cause, from the last try: the database's socket was gone.
            assert row["error"] == (
                "deadline passed with no worker running the task; its last try: "
                "FileNotFoundError: [Errno 2] No such file or directory"
            ), row


async def test_a_standalone_worker_rides_out_a_redis_restart_and_runs_its_job_once(
    services: Services,
    redis_process: RedisProcess,  # noqa: F811
    worker_processes: WorkerProcesses,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with standalone_stage(services, redis_process, worker_processes, tmp_path) as stage:
        llm, runtime, http = stage.llm, stage.runtime, stage.http

        async def one_worker() -> bool:
            return await counted_workers(http) == 1

        async def no_worker() -> bool:
            return await counted_workers(http) == 0

        worker = worker_processes.start()
        await until(one_worker, 20, "the worker counted by /readyz")
        task_id = await generate(stage.gql, "blip")
        await wait_for_status(
            runtime, task_id, "RUNNING", 20, worker, also=lambda: llm.arrived == 1
        )

        await asyncio.to_thread(redis_process.kill)
        assert (await http.get("/readyz")).status_code == 503
        await asyncio.sleep(2)
        assert worker.poll() is None, "the worker exited when Redis went away"

        await asyncio.to_thread(redis_process.start)  # empty: nothing on disk
        await until(one_worker, 10, "the reconnected worker counted again")

        # Redis forgot the job; the worker put its in-progress mark back, so once the
        # sweeper would take a RUNNING task without one for lost, this one is held.
        async def marked() -> bool:
            return bool(await runtime.redis.exists(in_progress_key_prefix + task_id))

        async def settled() -> bool:
            info = await runtime.redis.info("server")
            return int(info["uptime_in_seconds"]) >= RECONNECT_GRACE_SECONDS

        await until(marked, 5, "the running job's mark put back")
        await until(settled, RECONNECT_GRACE_SECONDS + 2, "Redis up for the grace")
        assert await requeue_lost({"engine": runtime.engine, "redis": runtime.redis}) == 0

        llm.gate.set()
        done = await wait_for_task(stage.gql, task_id, seconds=20)
        assert done["status"] == "SUCCEEDED", done
        row = await task_rows.get(runtime.engine, task_id)
        assert row is not None and row["attempts"] == 1 and row["error"] is None
        assert llm.arrived == 1  # run once, through the outage
        assert await quizzes_of(runtime, task_id) == [("LLM", QUESTIONS)]

        WorkerProcesses.kill(worker)  # SIGKILL: it cannot say goodbye
        await until(no_worker, TTL_SECONDS + 3, "the dead worker uncounted")


async def test_jobs_lost_with_a_redis_restart_are_queued_again_and_succeed(
    services: Services,
    redis_process: RedisProcess,  # noqa: F811
    worker_processes: WorkerProcesses,  # noqa: F811
    tmp_path: Path,
) -> None:
    async with standalone_stage(services, redis_process, worker_processes, tmp_path) as stage:
        llm, runtime, redis = stage.llm, stage.runtime, stage.runtime.redis
        first = worker_processes.start()
        running_id = await generate(stage.gql, "lost while running")
        await wait_for_status(
            runtime, running_id, "RUNNING", 30, first, also=lambda: llm.arrived == 1
        )
        WorkerProcesses.kill(first)  # the worker dies with its job...
        queued_id = await generate(stage.gql, "lost while queued")
        assert await redis.exists(job_key_prefix + queued_id)

        await asyncio.to_thread(redis_process.kill)  # ...and Redis with every job
        await asyncio.to_thread(redis_process.start)
        for task_id in (running_id, queued_id):
            assert not await redis.exists(
                job_key_prefix + task_id, in_progress_key_prefix + task_id
            )
        row = await task_rows.get(runtime.engine, queued_id)
        assert row is not None and row["status"] == "QUEUED"

        llm.gate.set()
        second = worker_processes.start()
        for task_id in (running_id, queued_id):
            done = await wait_for_task(stage.gql, task_id, seconds=30)
            assert done["status"] == "SUCCEEDED", done
            assert await quizzes_of(runtime, task_id) == [("LLM", QUESTIONS)]
        running = await task_rows.get(runtime.engine, running_id)
        queued = await task_rows.get(runtime.engine, queued_id)
        assert running is not None and running["attempts"] == 2
        assert queued is not None and queued["attempts"] == 1
        assert llm.arrived == 3  # the lost try, then one run of each

        # SIGTERM still ends a worker that is waiting for Redis to come back.
        await asyncio.to_thread(redis_process.kill)
        await asyncio.sleep(1)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 15) == 0


def test_the_retry_policy_waits_out_outages_until_the_deadline() -> None:
    """The numbers behind the policy (task_runs.run and WorkerConfig docstrings)."""
    from learntwin_graphql.config import Settings, worker_config

    config = worker_config(Settings(_env_file=None, LEARNTWIN_JOB_TIMEOUT=5))
    assert [config.outage_pause(n) for n in range(1, 7)] == [1, 2, 4, 5, 5, 5]
    # arq never ends a job first: more runs than outage retries a second apart can use.
    assert config.arq_max_tries >= config.max_tries + config.deadline.total_seconds()
