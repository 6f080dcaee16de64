"""The protocol rules the conformance tests check against the ASGI app, checked again
against a running `learntwin serve` over real sockets, the way clients reach it: content
negotiation, request errors, method rules, persisted queries, WebSocket frames and
credentials in connection_init."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ADMIN_KEY, Services
from tests.test_tutor_streaming import ApiProcess
from tests.test_worker_crash import worker_env

RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture
async def server(services: Services, tmp_path: Path) -> AsyncIterator[ApiProcess]:
    api = ApiProcess(worker_env(services, "http://127.0.0.1:9/v1", tmp_path), tmp_path)
    try:
        await api.ready()
        yield api
    finally:
        api.stop()


async def test_http_rules_on_a_running_server(server: ApiProcess) -> None:
    key = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(timeout=10) as http:
        ok = await http.post(server.url, json={"query": "{ __typename }"}, headers=key)
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
        # graphql-response+json: request errors are 400 without data
        for body in ({"query": "{ viewer { role }"}, {"query": "{ nope }"}, {}):
            answer = await http.post(
                server.url, json=body, headers={**key, "Accept": RESPONSE_JSON}
            )
            assert answer.status_code == 400, (body, answer.text)
            assert answer.headers["content-type"].startswith(RESPONSE_JSON)
            payload = answer.json()
            assert "data" not in payload and payload["errors"][0]["extensions"]["code"]
        # a mutation over GET: 405 with Allow
        refused = await http.get(
            server.url,
            params={"query": 'mutation { createCourse(input: {title: "x"}) { id } }'},
            headers=key,
        )
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"
        assert refused.json()["errors"][0]["extensions"]["code"]
        # not JSON: a GraphQL JSON error body, never text/plain
        for content_type, data in (("text/plain", "{ __typename }"), ("application/json", "{")):
            bad = await http.post(
                server.url, content=data, headers={**key, "Content-Type": content_type}
            )
            assert bad.status_code in (400, 415), bad.text
            assert bad.json()["errors"][0]["extensions"]["code"]
        # several operations and no operationName
        two = await http.post(
            server.url, json={"query": "query A { __typename } query B { __typename }"}, headers=key
        )
        assert two.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_persisted_queries_on_a_running_server(server: ApiProcess) -> None:
    query = "query Persisted { viewer { role } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    key = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(timeout=10) as http:
        unknown = await http.get(server.url, params={"extensions": extensions}, headers=key)
        codes = [e["extensions"]["code"] for e in unknown.json()["errors"]]
        assert codes == ["PERSISTED_QUERY_NOT_FOUND"]
        stored = await http.post(
            server.url, json={"query": query, "extensions": json.loads(extensions)}, headers=key
        )
        assert stored.json()["data"] == {"viewer": {"role": "ADMIN"}}
        hit = await http.get(server.url, params={"extensions": extensions}, headers=key)
        assert hit.json()["data"] == {"viewer": {"role": "ADMIN"}}


async def _open(url: str, init: dict[str, Any]) -> Any:
    ws = await connect(url.replace("http", "ws"), subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    return ws


async def test_websocket_rules_on_a_running_server(server: ApiProcess) -> None:
    # the queries' header names in connection_init
    ws = await _open(server.url, {"X-API-Key": ADMIN_KEY})
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}})
    )
    assert json.loads(await ws.recv())["payload"]["data"] == {"viewer": {"role": "ADMIN"}}
    # a malformed frame: closed with 4400 and a reason
    for frame in ("[1,2]", "null", '"x"', "5", '{"id": 2, "type": "subscribe", "payload": {}}'):
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send(frame)
            await ws.recv()
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400, frame
        assert closed.value.rcvd.reason
        ws = await _open(server.url, {"apiKey": ADMIN_KEY})
        assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.close()
