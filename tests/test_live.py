"""Subscription.classMastery over graphql-transport-ws: in process, across two API
processes sharing Postgres and Redis, and with a subscriber that never reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_open
from websockets.typing import Subprotocol

from tests.conftest import (
    ADMIN_KEY,
    PROTOCOL,
    GraphQLClient,
    Services,
    clean,
    free_port,
    ws_client,
    ws_connect,
)

SUBSCRIBE = (
    "subscription($c: ID!) { classMastery(classId: $c) { classId population students rateStuck } }"
)
INGEST = """
mutation($records: [MetricInput!]!) {
  ingestMetrics(records: $records) { accepted duplicates rejected { index field message } }
}
"""
REGISTER = 'mutation { register(input: {email: "live@example.org", password: "0123456789", studentId: "s-live"}) { token } }'
UPDATE_WITHIN = 5.0  # seconds an update may take to reach a subscriber
QUIET_FOR = 0.5  # seconds without a message that count as "nothing was sent"


def records(class_id: str, count: int, *, students: int = 3, offset: int = 0) -> list[dict]:
    return [
        {
            "classId": class_id,
            "studentId": f"s-{(offset + i) % students}",
            "stuck": i % 2 == 0,
            "gotIt": i % 3 == 0,
            "pause": False,
            "example": True,
            "confidence": 6,
        }
        for i in range(count)
    ]


async def ingest(gql: GraphQLClient, class_id: str, count: int, **kwargs: Any) -> None:
    body = await gql(INGEST, {"records": records(class_id, count, **kwargs)})
    assert "errors" not in body, body
    assert body["data"]["ingestMetrics"]["accepted"] == count


# --- in process (httpx-ws over the ASGI app) ------------------------------------------


async def receive(ws: Any, within: float = UPDATE_WITHIN) -> dict[str, Any]:
    """The next protocol message, answering keep-alive pings on the way."""
    deadline = time.monotonic() + within
    while True:
        message = await ws.receive_json(timeout=max(deadline - time.monotonic(), 0.001))
        if message["type"] == "ping":
            await ws.send_json({"type": "pong"})
        elif message["type"] != "pong":
            return message


async def open_subscription(ws: Any, payload: dict[str, Any], class_id: str) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": payload})
    assert (await receive(ws))["type"] == "connection_ack"
    await ws.send_json(
        {
            "id": "live",
            "type": "subscribe",
            "payload": {"query": SUBSCRIBE, "variables": {"c": class_id}},
        }
    )
    return await receive(ws)


def mastery_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "next" and message["id"] == "live", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["classMastery"]


async def test_class_mastery_starts_empty_and_follows_ingest(app, gql) -> None:
    async with ws_client(app) as http, ws_connect(http) as ws:
        first = await open_subscription(ws, {"apiKey": ADMIN_KEY}, "c-live")
        assert mastery_of(first) == {
            "classId": "c-live",
            "population": 0,
            "students": 0,
            "rateStuck": None,
        }

        await ingest(gql, "c-live", 4)
        assert mastery_of(await receive(ws)) == {
            "classId": "c-live",
            "population": 4,
            "students": 3,
            "rateStuck": 0.5,
        }

        await ingest(gql, "c-live", 2, offset=4)
        update = mastery_of(await receive(ws))
        assert (update["population"], update["students"]) == (6, 3)

        # Another class's ingest is not this subscriber's business.
        await ingest(gql, "c-other", 5)
        with pytest.raises(TimeoutError):
            await receive(ws, within=QUIET_FOR)

        await ws.send_json({"id": "live", "type": "complete"})


async def test_learner_may_not_subscribe_to_a_class(app, gql) -> None:
    token = (await gql(REGISTER, api_key=None))["data"]["register"]["token"]
    async with ws_client(app) as http, ws_connect(http) as ws:
        refused = await open_subscription(ws, {"authorization": f"Bearer {token}"}, "c-live")
        # The server answers with a `next` carrying the error, then completes the operation.
        assert refused["type"] == "next" and refused["id"] == "live", refused
        assert refused["payload"]["data"] is None
        codes = [e["extensions"]["code"] for e in refused["payload"]["errors"]]
        assert codes == ["FORBIDDEN"]
        assert await receive(ws) == {"id": "live", "type": "complete"}


async def test_slow_subscriber_never_blocks_ingest(app, gql) -> None:
    rounds, per_round = 20, 5
    async with ws_client(app) as http, ws_connect(http) as ws:
        first = await open_subscription(ws, {"apiKey": ADMIN_KEY}, "c-slow")
        assert mastery_of(first)["population"] == 0

        # The subscriber reads nothing while the ingests run.
        started = time.monotonic()
        for number in range(rounds):
            await ingest(gql, "c-slow", per_round, offset=number)
        elapsed = time.monotonic() - started
        assert elapsed < 10.0, f"{rounds} ingests took {elapsed:.1f} s"

        # When it finally reads, it catches up to the latest state, with at most one
        # message per ingest (updates coalesce, they never pile up beyond that).
        total = rounds * per_round
        seen: list[int] = []
        while not seen or seen[-1] != total:
            seen.append(mastery_of(await receive(ws))["population"])
        assert len(seen) <= rounds, seen
        assert seen == sorted(seen), seen
        with pytest.raises(TimeoutError):
            await receive(ws, within=QUIET_FOR)


# --- two API processes sharing Postgres and Redis -----------------------------------

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class ServeProcess:
    """`learntwin serve --no-worker` on a free port, configured with the test services."""

    def __init__(self, services: Services, workdir: Path, name: str) -> None:
        self.services = services
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("TEST_", "LEARNTWIN_"))
        }
        env.update(
            DATABASE_URL=self.services.database_url,
            REDIS_URL=self.services.redis_url,
            API_KEY=ADMIN_KEY,
            JWT_SECRET="live-test-jwt-secret-" + "y" * 19,
            LEARNTWIN_ENV="development",
        )
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "learntwin_graphql.cli",
                "serve",
                "--no-worker",
                "--port",
                str(self.port),
                env=env,
                cwd=self.workdir,  # away from the repository's `.env`, if any
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_healthy(self, http: httpx.AsyncClient) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"server exited: {self.process.returncode}\n{self.output()}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{self.url}/healthz", timeout=2)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {START_TIMEOUT} s\n{self.output()}")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@contextlib.asynccontextmanager
async def serving(services: Services, workdir: Path, count: int) -> AsyncIterator[list[Any]]:
    servers = [ServeProcess(services, workdir, f"serve-{n}") for n in range(count)]
    try:
        for server in servers:
            await server.start()
        async with httpx.AsyncClient() as http:
            await asyncio.gather(*(server.wait_healthy(http) for server in servers))
        yield servers
    finally:
        await asyncio.gather(*(server.stop() for server in servers))


async def ws_receive(ws: ClientConnection, within: float = UPDATE_WITHIN) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.001))
        message = json.loads(raw)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message["type"] != "pong":
            return message


@pytest.mark.slow
async def test_two_processes_deliver_each_others_updates(
    services: Services, tmp_path: Path
) -> None:
    await clean(services)
    async with serving(services, tmp_path, 2) as (a, b):
        async with (
            ws_open(
                f"ws://127.0.0.1:{a.port}/graphql",
                subprotocols=[Subprotocol(PROTOCOL)],
                open_timeout=10,
                close_timeout=5,
            ) as ws,
            httpx.AsyncClient(base_url=b.url, headers={"X-API-Key": ADMIN_KEY}) as http_b,
        ):
            await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}}))
            assert (await ws_receive(ws))["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "live",
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIBE, "variables": {"c": "c-two"}},
                    }
                )
            )
            assert mastery_of(await ws_receive(ws))["population"] == 0

            # Through B's GraphQL mutation…
            response = await http_b.post(
                "/graphql",
                json={"query": INGEST, "variables": {"records": records("c-two", 3)}},
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"]["ingestMetrics"]["accepted"] == 3
            update = mastery_of(await ws_receive(ws))
            assert (update["population"], update["students"]) == (3, 3), a.output()

            # …and through B's seed REST route.
            seed = {
                "class_id": "c-two",
                "student_id": 7,
                "stuck": 1,
                "got_it": 0,
                "pause": 0,
                "example": 0,
                "confidence": 4,
            }
            response = await http_b.post("/ingest/json", json=[seed])
            assert response.status_code == 200, response.text
            assert response.json()["rows_ok"] == 1
            update = mastery_of(await ws_receive(ws))
            assert (update["population"], update["students"]) == (4, 4), a.output()
