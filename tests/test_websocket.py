"""graphql-transport-ws: credentials in connection_init, refused without them."""

from __future__ import annotations

import pytest
from httpx_ws import WebSocketDisconnect

from tests.conftest import ADMIN_KEY, PROTOCOL, ws_client, ws_connect

REGISTER = 'mutation { register(input: {email: "w@example.org", password: "0123456789", studentId: "s-9"}) { token } }'


async def _handshake(ws, payload):
    await ws.send_json({"type": "connection_init", "payload": payload})
    return await ws.receive_json(timeout=5)


async def _run_query(ws, query):
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
    first = await ws.receive_json(timeout=5)
    second = await ws.receive_json(timeout=5)
    return first, second


async def test_api_key_in_connection_init(app):
    async with ws_client(app) as http, ws_connect(http) as ws:
        assert ws.subprotocol == PROTOCOL
        ack = await _handshake(ws, {"apiKey": ADMIN_KEY})
        assert ack == {"type": "connection_ack", "payload": {"role": "ADMIN"}}
        first, second = await _run_query(ws, "{ viewer { role apiKeyName } }")
        assert first["type"] == "next"
        assert first["payload"]["data"]["viewer"] == {"role": "ADMIN", "apiKeyName": "API_KEY"}
        assert second == {"id": "1", "type": "complete"}


@pytest.mark.parametrize(
    "make",
    [
        lambda key, token: {"X-API-Key": key},
        lambda key, token: {"x-api-key": key},
        lambda key, token: {"headers": {"X-API-Key": key}},
        lambda key, token: {"Authorization": f"Bearer {token}"},
        lambda key, token: {"AUTHORIZATION": f"Bearer {token}"},
    ],
)
async def test_credentials_sent_as_the_queries_headers_are_accepted(app, gql, make):
    """GraphiQL and Apollo put the same headers in connection_init as on their queries."""
    token = (await gql(REGISTER, api_key=None))["data"]["register"]["token"]
    payload = make(ADMIN_KEY, token)
    async with ws_client(app) as http, ws_connect(http) as ws:
        ack = await _handshake(ws, payload)
        assert ack["type"] == "connection_ack", (payload, ack)
        role = "LEARNER" if "Bearer" in str(payload) else "ADMIN"
        assert ack["payload"] == {"role": role}


async def test_bearer_token_in_connection_init(app, gql):
    token = (await gql(REGISTER, api_key=None))["data"]["register"]["token"]
    async with ws_client(app) as http, ws_connect(http) as ws:
        ack = await _handshake(ws, {"authorization": f"Bearer {token}"})
        assert ack["payload"] == {"role": "LEARNER"}
        first, _ = await _run_query(ws, "{ viewer { role user { studentId } } }")
        assert first["payload"]["data"]["viewer"] == {
            "role": "LEARNER",
            "user": {"studentId": "s-9"},
        }


@pytest.mark.parametrize(
    "payload", [{}, {"apiKey": ""}, {"apiKey": "lt_wrong"}, {"authorization": "Bearer nope"}]
)
async def test_connection_without_valid_credentials_is_refused(app, payload):
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as info:
            await ws.receive_json(timeout=5)
    assert info.value.code == 4403


async def test_foreign_origin_is_refused_and_configured_one_accepted(app):
    async with ws_client(app) as http:
        with pytest.raises(Exception):  # noqa: B017  (the handshake itself fails)
            async with ws_connect(http, headers={"Origin": "http://evil.example"}) as ws:
                await _handshake(ws, {"apiKey": ADMIN_KEY})
        async with ws_connect(http, headers={"Origin": "http://allowed.example"}) as ws:
            assert (await _handshake(ws, {"apiKey": ADMIN_KEY}))["type"] == "connection_ack"


async def test_only_graphql_transport_ws_is_spoken(app):
    async with ws_client(app) as http:
        with pytest.raises(Exception):  # noqa: B017
            async with ws_connect(http, subprotocols=["graphql-ws"]) as ws:
                await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
                await ws.receive_json(timeout=5)
