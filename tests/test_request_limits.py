"""Limits that protect everyone: body size, string length, query cost, open sockets,
and no schema suggestions in production."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from httpx_ws import WebSocketDisconnect
from httpx_ws.transport import ASGIWebSocketTransport

from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Services,
    error_codes,
    make_settings,
    ws_connect,
)
from tests.test_analytics import INGEST, ingest, record

NESTED_PAGES = """
{ classes(first: 500) { edges { node {
    students(first: 500) { edges { node {
        metrics(first: 500) { edges { node { id } } } } } } } } } }
"""


@contextlib.asynccontextmanager
async def app_with(services: Services, **overrides: Any) -> AsyncIterator[Any]:
    settings = make_settings(services, **overrides)
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        yield create_app(runtime=runtime)


# --- body size --------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_before_it_is_read(client, runtime):
    limit = runtime.settings.max_body_bytes
    big = b'{"query": "{ __typename }", "x": "' + b"a" * limit + b'"}'
    response = await client.post(
        "/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "maximum": limit}

    async def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"query": "{ __typename }", "x": "'
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    streamed = await client.post(
        "/ingest/json",
        content=chunks(),
        headers={"content-type": "application/json", "X-API-Key": ADMIN_KEY},
    )
    assert streamed.status_code == 413
    assert streamed.json()["maximum"] == limit


async def test_a_full_ingest_batch_fits_in_the_body_limit(client, runtime):
    start = datetime.now(UTC) - timedelta(days=1)
    records = [
        {
            **record(f"class-{n % 7:02d}", f"student-{n % 300:04d}"),
            "timestamp": (start + timedelta(seconds=n)).isoformat(),
            "eventId": f"tablet-{n % 40:02d}:{n:06d}",
        }
        for n in range(runtime.settings.max_ingest_batch)
    ]
    body = orjson.dumps({"query": INGEST, "variables": {"records": records}})
    assert len(body) < runtime.settings.max_body_bytes
    response = await client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "X-API-Key": ADMIN_KEY},
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["data"]["ingestMetrics"]["accepted"] == len(records)


# --- strings ---------------------------------------------------------------------------


async def test_long_strings_are_refused(gql, runtime):
    limit = runtime.settings.max_string_length
    literal = await gql(f'{{ class(id: "{"x" * (limit + 1)}") {{ id }} }}')
    assert error_codes(literal) == ["BAD_USER_INPUT"]
    assert "longer than" in literal["errors"][0]["message"]
    variable = await gql(
        "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id } }",
        {"i": {"topic": "y" * (limit + 1)}},
    )
    assert error_codes(variable) == ["BAD_USER_INPUT"]
    assert variable["errors"][0]["extensions"]["field"] == "input.topic"
    fits = await gql("query($i: ID!) { class(id: $i) { id } }", {"i": "z" * limit})
    assert fits == {"data": {"class": None}}


# --- cost ------------------------------------------------------------------------------


async def test_nested_pages_beyond_the_cost_limit_are_refused_with_the_cost(gql, runtime):
    await ingest(gql, [record("c1", "s1")])
    body = await gql(NESTED_PAGES)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    extensions = body["errors"][0]["extensions"]
    assert extensions["maximum"] == runtime.settings.max_query_cost
    # classes, edges, node, students: 1 + 3·500; their edges, nodes and metrics: 3·500²;
    # the metrics' edges and nodes: 2·500³.
    assert extensions["cost"] == 1 + 3 * 500 + 3 * 500**2 + 2 * 500**3
    aliased = (
        "{ "
        + " ".join(
            f'a{n}: class(id: "c1") {{ students(first: 500) {{ edges {{ node {{ metrics(first: 500) {{ edges {{ node {{ id }} }} }} }} }} }} }}'
            for n in range(10)
        )
        + " }"
    )
    assert error_codes(await gql(aliased)) == ["BAD_USER_INPUT"]


async def test_the_cost_follows_variables_and_their_defaults(gql):
    await ingest(gql, [record("c1", "s1")])
    query = """query($n: Int! = 100) { class(id: "c1") {
        students(first: $n) { edges { node { metrics(first: $n) { edges { node { id } } } } } } } }"""
    assert "errors" not in await gql(query)  # 2 + 3·100 + 2·100² objects
    refused = await gql(query, {"n": 500})
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["extensions"]["cost"] == 2 + 3 * 500 + 2 * 500**2


async def test_a_cost_limit_setting_applies(services):
    async with app_with(services, LEARNTWIN_MAX_QUERY_COST="100") as app:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            gql = GraphQLClient(http)
            small = await gql(
                '{ class(id: "c1") { students(first: 30) { edges { node { id } } } } }'
            )
            assert "errors" not in small
            big = await gql('{ class(id: "c1") { students(first: 50) { edges { node { id } } } } }')
            assert big["errors"][0]["extensions"]["cost"] == 2 + 2 * 50


# --- WebSockets ------------------------------------------------------------------------


async def _init(ws: Any, payload: dict[str, Any]) -> dict[str, Any]:
    await ws.send_json({"type": "connection_init", "payload": payload})
    return await ws.receive_json(timeout=5)


async def test_open_websockets_are_bounded_per_address_and_per_credential(services, gql):
    made = await gql('mutation { createApiKey(name: "dash", role: INSTRUCTOR) { key } }')
    other_key = made["data"]["createApiKey"]["key"]
    async with (
        app_with(
            services,
            LEARNTWIN_MAX_WEBSOCKETS_PER_ADDRESS="3",
            LEARNTWIN_MAX_WEBSOCKETS_PER_CREDENTIAL="2",
        ) as app,
        httpx.AsyncClient(
            transport=ASGIWebSocketTransport(app, client=("10.9.0.1", 4000)),
            base_url="http://test",
        ) as http,
        httpx.AsyncClient(
            transport=ASGIWebSocketTransport(app, client=("10.9.0.2", 4000)),
            base_url="http://test",
        ) as elsewhere,
    ):
        async with ws_connect(http) as first, ws_connect(http) as second:
            for ws in (first, second):
                assert (await _init(ws, {"apiKey": ADMIN_KEY}))["type"] == "connection_ack"
            # A third socket with the same credentials, from anywhere, is refused...
            async with ws_connect(elsewhere) as third:
                with pytest.raises(WebSocketDisconnect) as refused:
                    await _init(third, {"apiKey": ADMIN_KEY})
                assert refused.value.code == 4403
            # ...other credentials are not, until the address holds its limit of three.
            async with ws_connect(http) as third:
                assert (await _init(third, {"apiKey": other_key}))["type"] == "connection_ack"
                async with ws_connect(http) as fourth:
                    with pytest.raises(WebSocketDisconnect) as closed:
                        await fourth.receive_json(timeout=5)
                    assert closed.value.code == 1013
        # Closed sockets give their slots back.
        async with ws_connect(http) as again, ws_connect(http) as twice:
            for ws in (again, twice):
                assert (await _init(ws, {"apiKey": ADMIN_KEY}))["type"] == "connection_ack"


# --- production ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { rol } }",  # field
        '{ class(idd: "x") { id } }',  # argument
        'mutation { createApiKey(name: "x", role: ADMN) { key } }',  # enum value
        "query($i: GenerateQuizInpt!) { generateQuiz(input: $i) { id } }",  # type
        'mutation { generateQuiz(input: {topik: "x"}) { id } }',  # input field
    ],
)
async def test_production_suggests_nothing(services, query):
    async with app_with(services, LEARNTWIN_ENV="production", JWT_SECRET="p" * 40) as app:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            body = await GraphQLClient(http)(query)
    assert body["errors"] and "Did you mean" not in str(body), body
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}
