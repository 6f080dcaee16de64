"""Lost work is never lost for good: a worker process killed in the middle of a job has
the job run again by another worker, and a task no worker holds past its deadline is
FAILED with a reason that queries and subscriptions show. The retry policy's limits:
a failing work is tried `max_tries` times, and tries that never report back stop at
the deadline."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.worker import Retry
from sqlalchemy import func, select, update

from db import tasks as task_rows
from db.tables import quiz_questions, quizzes
from db.tables import tasks as tasks_table
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Services,
    make_settings,
    wait_for_task,
    ws_client,
    ws_connect,
)
from tests.fake_llm import GOOD, HANG
from tests.test_llm import serving_fake_llm
from workers.jobs import generate_quiz
from workers.llm import LLMClient
from workers.queueing import enqueue
from workers.sweep import requeue_lost, sweep_overdue

REPO = Path(__file__).resolve().parent.parent
GENERATE = "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id status } }"
QUIZ = "query($id: ID!) { quiz(id: $id) { source questions { text } } }"
# Kept short so a lost try is picked up again soon: arq re-runs a job whose worker died
# once the in-progress mark has expired (the job timeout + 10 s).
JOB_TIMEOUT = 5
FINISH_WITHIN = 40.0


class WorkerProcesses:
    """`learntwin worker` subprocesses; every one is SIGKILLed when the test ends."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.logs / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "learntwin_graphql.cli", "worker"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.kill()  # SIGKILL: no shutdown code runs, as in a crash
        process.wait(timeout=10)

    def kill_all(self) -> None:
        for process in self.started:
            with contextlib.suppress(Exception):
                self.kill(process)

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.logs.glob("worker-*.log"))
        )


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses({}, tmp_path)
    try:
        yield processes
    finally:
        processes.kill_all()


def worker_env(services: Services, llm_base_url: str, data_dir: Path) -> dict[str, str]:
    settings = make_settings(services)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TEST_")}
    env.update(
        {
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "API_KEY": ADMIN_KEY,
            "JWT_SECRET": settings.jwt_key,
            "LEARNTWIN_ENV": "development",
            "LEARNTWIN_DATA_DIR": str(data_dir),
            "OPENAI_API_KEY": "k",
            "OPENAI_BASE_URL": llm_base_url,
            # Long enough that the first try is still inside the LLM call when killed.
            "LEARNTWIN_LLM_TIMEOUT": "60",
            "LEARNTWIN_JOB_TIMEOUT": str(JOB_TIMEOUT),
        }
    )
    return env


async def wait_for_status(
    runtime: Runtime,
    task_id: str,
    status: str,
    seconds: float,
    watched: Any,
    also: Callable[[], bool] = lambda: True,
) -> dict[str, Any]:
    """Poll the row (the source of truth) until it has `status` and `also()` holds;
    fails if the `watched` process exits first."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        row = await task_rows.get(runtime.engine, task_id)
        assert row is not None
        if row["status"] == status and also():
            return row
        assert watched.poll() is None, "the worker exited early"
        assert asyncio.get_running_loop().time() < deadline, f"task still {row['status']}"
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_a_job_lost_with_its_killed_worker_is_run_again_by_another(
    services: Services,
    runtime: Runtime,
    gql: GraphQLClient,
    worker_processes: WorkerProcesses,
    tmp_path: Path,
) -> None:
    assert not runtime.has_worker  # only the subprocesses run jobs
    # The fake server runs in this test's event loop: it stays up for the whole test.
    async with serving_fake_llm() as fake:
        fake.script = [HANG]  # the first try hangs inside the LLM call...
        fake.mode = GOOD  # ...every later one is answered well
        worker_processes.env = worker_env(services, fake.base_url, tmp_path)
        try:
            first = worker_processes.start()
            body = await gql(GENERATE, {"i": {"topic": "volcanoes", "questionCount": 5}})
            task_id = body["data"]["generateQuiz"]["id"]

            # Killed once the try is inside the LLM call: its request has arrived.
            running = await wait_for_status(
                runtime, task_id, "RUNNING", 30, first, also=lambda: bool(fake.requests)
            )
            assert running["attempts"] == 1
            await asyncio.to_thread(WorkerProcesses.kill, first)

            # The job died with its worker: still RUNNING, still marked in progress by
            # the dead worker, its one LLM request unanswered.
            row = await task_rows.get(runtime.engine, task_id)
            assert row is not None and row["status"] == "RUNNING"
            assert await runtime.redis.exists(in_progress_key_prefix + task_id) == 1
            assert len(fake.requests) == 1

            worker_processes.start()
            done = await wait_for_task(gql, task_id, seconds=FINISH_WITHIN)
            assert done["status"] == "SUCCEEDED", done
        except BaseException:
            print(worker_processes.output())
            raise
        finally:
            worker_processes.kill_all()

    quiz = (await gql(QUIZ, {"id": done["result"]["id"]}))["data"]["quiz"]
    assert quiz["source"] == "LLM"
    assert all(q["text"].startswith("LLM question") for q in quiz["questions"])
    async with runtime.engine.connect() as conn:
        stored = (
            await conn.execute(select(quizzes.c.id).where(quizzes.c.task_id == task_id))
        ).all()
        assert [row.id for row in stored] == [done["result"]["id"]]
        count = len(
            (
                await conn.execute(
                    select(quiz_questions.c.id).where(quiz_questions.c.quiz_id == stored[0].id)
                )
            ).all()
        )
        assert count == 5
    row = await task_rows.get(runtime.engine, task_id)
    assert row is not None and row["attempts"] == 2 and row["error"] is None
    assert len(fake.requests) == 2  # the hung one, then the good one


async def lone_task(runtime: Runtime, difficulty: str, deadline: timedelta) -> dict[str, Any]:
    """A quiz task row, never queued: these tests run its job directly."""
    async with runtime.engine.begin() as conn:
        return await task_rows.create(
            conn,
            task_id=str(uuid.uuid4()),
            kind="QUIZ_GENERATION",
            params={"topic": "direct", "count": 3, "difficulty": difficulty},
            owner_user_id=None,
            owner_student_id=None,
            deadline=deadline,
        )


async def overdue_task(runtime: Runtime) -> dict[str, Any]:
    """A task row whose deadline has already passed, never enqueued."""
    return await lone_task(runtime, "BEGINNER", timedelta(seconds=-1))


SUBSCRIBE = "subscription($id: ID!) { task(id: $id) { id status error finishedAt } }"
TASK = "query($id: ID!) { task(id: $id) { status error finishedAt } }"
REASON = "deadline passed with no worker running the task"


async def test_an_overdue_task_no_worker_holds_is_failed_with_a_reason(
    runtime: Runtime, gql: GraphQLClient, app: Any
) -> None:
    lost = await overdue_task(runtime)
    held = await overdue_task(runtime)
    # A worker is running `held` (arq's in-progress mark): the sweeper leaves it alone.
    await runtime.redis.set(in_progress_key_prefix + held["id"], b"1", px=60_000)
    ctx = {"engine": runtime.engine, "redis": runtime.redis}

    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "t",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": lost["id"]}},
            }
        )
        first = await ws.receive_json(timeout=5)
        assert first["payload"]["data"]["task"]["status"] == "QUEUED"
        await asyncio.wait_for(runtime.broker.connected.wait(), 5)

        assert await sweep_overdue(ctx) == 1

        pushed = await ws.receive_json(timeout=5)
        assert pushed["type"] == "next", pushed
        task = pushed["payload"]["data"]["task"]
        assert task["status"] == "FAILED" and task["error"] == REASON and task["finishedAt"]
        assert await ws.receive_json(timeout=5) == {"id": "t", "type": "complete"}

    assert (await gql(TASK, {"id": lost["id"]}))["data"]["task"]["status"] == "FAILED"
    assert (await gql(TASK, {"id": lost["id"]}))["data"]["task"]["error"] == REASON
    still = (await gql(TASK, {"id": held["id"]}))["data"]["task"]
    assert still == {"status": "QUEUED", "error": None, "finishedAt": None}
    # Sweeping again changes nothing; once the mark is gone, the held one goes too.
    assert await sweep_overdue(ctx) == 0
    await runtime.redis.delete(in_progress_key_prefix + held["id"])
    assert await sweep_overdue(ctx) == 1
    assert (await gql(TASK, {"id": held["id"]}))["data"]["task"]["error"] == REASON


def direct_context(runtime: Runtime, job_try: int) -> dict[str, Any]:
    """What arq hands a job on try `job_try`, for running it directly (no LLM)."""
    return {
        "engine": runtime.engine,
        "redis": runtime.redis,
        "config": runtime.worker_config,
        "llm": LLMClient(api_key=None, base_url=None, model="none"),
        "job_try": job_try,
    }


async def test_a_task_whose_work_fails_is_tried_max_tries_times_then_failed(
    runtime: Runtime,
) -> None:
    # Postgres is up: this failure is the work's own (an unknown difficulty), and counts.
    task = await lone_task(runtime, "NOPE", timedelta(minutes=5))
    for job_try in (1, 2):
        with pytest.raises(Retry):
            await generate_quiz(direct_context(runtime, job_try), task["id"])
        row = await task_rows.get(runtime.engine, task["id"])
        assert row is not None and row["status"] == "RUNNING" and row["attempts"] == job_try
    await generate_quiz(direct_context(runtime, 3), task["id"])
    row = await task_rows.get(runtime.engine, task["id"])
    assert row is not None and row["status"] == "FAILED" and row["attempts"] == 3
    assert row["error"] == "ValueError: 'NOPE' is not a valid Difficulty"


async def test_a_try_starting_past_the_deadline_after_max_tries_unfinished_tries_gives_up(
    runtime: Runtime,
) -> None:
    """Tries lost with their workers never report back; past the deadline, the next one
    stops the cycle instead of running (and perhaps killing a worker) again."""
    task = await lone_task(runtime, "BEGINNER", timedelta(seconds=-1))
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(tasks_table)
            .where(tasks_table.c.id == task["id"])
            .values(status="RUNNING", attempts=runtime.worker_config.max_tries)
        )
    await generate_quiz(direct_context(runtime, 4), task["id"])
    row = await task_rows.get(runtime.engine, task["id"])
    assert row is not None and row["status"] == "FAILED"
    assert row["error"] == "gave up after 3 tries that did not finish by the deadline"
    async with runtime.engine.connect() as conn:
        stored = await conn.scalar(select(func.count()).where(quizzes.c.task_id == task["id"]))
    assert stored == 0


async def test_the_sweeper_queues_again_settled_tasks_that_have_no_job(runtime: Runtime) -> None:
    ctx = {"engine": runtime.engine, "redis": runtime.redis}
    # Its job ended in arq without finishing it (a kept result, which would make arq refuse
    # the id), a minute ago.
    ended = await lone_task(runtime, "BEGINNER", timedelta(minutes=5))
    queued = await lone_task(runtime, "BEGINNER", timedelta(minutes=5))  # its job waits
    fresh = await lone_task(runtime, "BEGINNER", timedelta(minutes=5))  # its job may be coming
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(tasks_table)
            .where(tasks_table.c.id.in_([ended["id"], queued["id"]]))
            .values(created_at=func.now() - timedelta(minutes=1))
        )
        await conn.execute(
            update(tasks_table)
            .where(tasks_table.c.id == ended["id"])
            .values(status="RUNNING", attempts=1)
        )
    await runtime.redis.set(result_key_prefix + ended["id"], b"ended", px=60_000)
    await enqueue(runtime.engine, runtime.redis, queued, "generate_quiz")

    assert await requeue_lost(ctx) == 1
    assert await runtime.redis.exists(job_key_prefix + ended["id"])
    assert not await runtime.redis.exists(result_key_prefix + ended["id"])
    assert not await runtime.redis.exists(job_key_prefix + fresh["id"])
    assert await requeue_lost(ctx) == 0  # now it has a job
