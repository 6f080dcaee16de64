"""graphql-transport-ws as the reference `graphql-ws` client and server speak it
(github.com/enisdenjo/graphql-ws, PROTOCOL.md): what is not a valid message closes the
socket with 4400 and a reason, never a dropped socket and a traceback; the protocol's
state errors close with their own codes; errors of an operation are `error` messages
with the `extensions.code` the same document gets over HTTP."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from wsproto.utilities import LocalProtocolError

from tests.conftest import ADMIN_KEY, error_codes, ws_client, ws_connect
from tests.test_analytics import ingest, record
from tests.test_request_limits import NESTED_PAGES, app_with

WITHIN = 5.0  # seconds any single answer may take
QUIET = 0.5  # seconds of silence that show nothing more is coming
MASTERY = "subscription($c: ID!) { classMastery(classId: $c) { classId population } }"
INIT = {"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}}


@pytest.fixture(autouse=True)
def errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    """Every test here ends with no ERROR record (a server traceback) logged."""
    caplog.set_level(logging.ERROR)
    yield
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not logged, [r.getMessage() for r in logged]


@contextlib.asynccontextmanager
async def socket(app: Any, *, init: bool = True) -> AsyncIterator[Any]:
    async with ws_client(app) as http, ws_connect(http) as ws:
        if init:
            await ws.send_json(INIT)
            assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def receive(ws: Any, within: float = WITHIN) -> dict[str, Any]:
    return await ws.receive_json(timeout=within)


async def closed(ws: Any) -> tuple[int, str]:
    """The close code and reason of a socket the server is closing, with no message
    before it."""
    with pytest.raises(WebSocketDisconnect) as info:
        message = await receive(ws)
        pytest.fail(f"a message instead of a close: {message}")
    reason = info.value.reason or ""
    assert len(reason.encode()) <= 123  # what a close frame can carry
    return info.value.code, reason


async def quiet(ws: Any) -> None:
    """Nothing arrives for a while, and the socket is still open."""
    with pytest.raises(TimeoutError):
        message = await receive(ws, QUIET)
        pytest.fail(f"unexpected message: {message}")


async def subscribe(ws: Any, id: str, query: str, **payload: Any) -> None:
    await ws.send_json({"id": id, "type": "subscribe", "payload": {"query": query, **payload}})


async def still_open(ws: Any) -> None:
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}


# --- frames that are not protocol messages ----------------------------------------------

NOT_MESSAGES: list[Any] = [
    "[1, 2]",
    "[]",
    "null",
    '"x"',
    "5",
    "true",
    "not json",
    "",
    "{",
    '{"type": "ping", "payload": {"s": "\\ud800"}}',  # a lone surrogate: not text
    b'{"type": "ping"}',  # a binary frame
    "{}",
    '{"payload": {}}',
    '{"type": null}',
    '{"type": 5}',
    '{"type": ["ping"]}',
    '{"type": "nope"}',
    '{"type": "' + "x" * 300 + '"}',  # the reason stays within a close frame
    '{"type": "connection_ack"}',  # the server's to send
    '{"type": "next", "id": "1", "payload": {"data": null}}',
    '{"type": "error", "id": "1", "payload": []}',
    '{"type": "ping", "payload": []}',
    '{"type": "ping", "payload": "x"}',
    '{"type": "pong", "payload": 5}',
    '{"type": "complete"}',
    '{"type": "complete", "id": 1}',
    '{"type": "complete", "id": ""}',
]


@pytest.mark.parametrize("initialised", [False, True], ids=["before-init", "after-init"])
@pytest.mark.parametrize("frame", NOT_MESSAGES, ids=[repr(f)[:40] for f in NOT_MESSAGES])
async def test_a_frame_that_is_not_a_message_closes_with_4400(app, frame, initialised):
    async with socket(app, init=initialised) as ws:
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_text(frame)
        code, reason = await closed(ws)
    assert code == 4400 and reason, (code, reason)


async def test_frames_behind_a_closing_one_are_not_acted_on(app):
    """While the server checks credentials the client sends on; once it closes (4403),
    what was sent meanwhile is neither run nor answered: no second close, no send on a
    closed socket, no traceback."""
    async with socket(app, init=False) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": "lt_wrong"}})
        with contextlib.suppress(LocalProtocolError):  # the client saw the close first
            await subscribe(ws, "1", Q)
            await ws.send_json({"type": "ping"})
            await ws.send_text("[1]")
        assert (await closed(ws))[0] == 4403


@pytest.mark.parametrize(
    "payload",
    [[], "x", 5, True, [{"apiKey": ADMIN_KEY}]],
)
async def test_a_connection_init_payload_that_is_not_an_object_closes_with_4400(app, payload):
    async with socket(app, init=False) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        code, reason = await closed(ws)
    assert code == 4400 and reason


@pytest.mark.parametrize(
    "init", [{"type": "connection_init"}, {"type": "connection_init", "payload": None}]
)
async def test_connection_init_without_a_payload_is_a_message_refused_for_credentials(app, init):
    async with socket(app, init=False) as ws:
        await ws.send_json(init)
        assert (await closed(ws))[0] == 4403


# --- subscribe messages that are not well formed ------------------------------------------

Q = "{ viewer { role } }"
BAD_SUBSCRIBES: list[dict[str, Any]] = [
    {"id": "1", "type": "subscribe"},
    {"id": "1", "type": "subscribe", "payload": None},
    {"id": "1", "type": "subscribe", "payload": []},
    {"id": "1", "type": "subscribe", "payload": [{"query": Q}]},
    {"id": "1", "type": "subscribe", "payload": Q},
    {"id": "1", "type": "subscribe", "payload": {}},
    {"id": "1", "type": "subscribe", "payload": {"query": 5}},
    {"id": "1", "type": "subscribe", "payload": {"query": None}},
    {"id": "1", "type": "subscribe", "payload": {"query": [Q]}},
    {"id": "1", "type": "subscribe", "payload": {"query": {"q": Q}}},
    {"type": "subscribe", "payload": {"query": Q}},
    {"id": 1, "type": "subscribe", "payload": {"query": Q}},
    {"id": None, "type": "subscribe", "payload": {"query": Q}},
    {"id": ["1"], "type": "subscribe", "payload": {"query": Q}},
    {"id": "", "type": "subscribe", "payload": {"query": Q}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "variables": "{}"}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "variables": []}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "variables": [{"a": 1}]}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "variables": 5}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "extensions": "x"}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "extensions": []}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "extensions": 5}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "operationName": 5}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "operationName": ["A"]}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "operationName": {}}},
    {"id": "1", "type": "subscribe", "payload": {"query": Q, "operationName": True}},
]


@pytest.mark.parametrize(
    "message", BAD_SUBSCRIBES, ids=[json.dumps(m)[:60] for m in BAD_SUBSCRIBES]
)
async def test_a_malformed_subscribe_closes_with_4400(app, message):
    async with socket(app) as ws:
        await ws.send_json(message)
        code, reason = await closed(ws)
    assert code == 4400 and reason, (code, reason)


@pytest.mark.parametrize(
    "extra",
    [
        {"variables": None, "operationName": None, "extensions": None},
        {"variables": {}, "extensions": {}},
        {"operationName": "Me", "variables": {"unused": 1}},
    ],
)
async def test_the_optional_subscribe_fields_may_be_null_or_empty(app, extra):
    query = "query Me { viewer { role } }" if extra.get("operationName") else Q
    async with socket(app) as ws:
        await subscribe(ws, "1", query, **extra)
        first = await receive(ws)
        assert first["type"] == "next" and first["id"] == "1", first
        assert first["payload"]["data"] == {"viewer": {"role": "ADMIN"}}
        assert await receive(ws) == {"id": "1", "type": "complete"}


# --- the protocol's states ----------------------------------------------------------------


async def test_subscribe_before_connection_init_closes_with_4401(app):
    async with socket(app, init=False) as ws:
        await subscribe(ws, "1", Q)
        assert await closed(ws) == (4401, "Unauthorized")


async def test_subscribe_before_the_ack_closes_with_4401_even_after_init(app):
    """A refused connection_init does not let operations in (it closes the socket)."""
    async with socket(app, init=False) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": "lt_wrong"}})
        await subscribe(ws, "1", Q)
        assert (await closed(ws))[0] == 4403


@pytest.mark.parametrize("payload", [{"apiKey": ADMIN_KEY}, {}, None])
async def test_a_second_connection_init_closes_with_4429(app, payload):
    async with socket(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        assert await closed(ws) == (4429, "Too many initialisation requests")


@pytest.mark.parametrize("id", ["a", "é" * 100])
async def test_a_duplicate_id_while_running_closes_with_4409(app, id):
    async with socket(app) as ws:
        await subscribe(ws, id, MASTERY, variables={"c": "c-dup"})
        assert (await receive(ws))["type"] == "next"
        await subscribe(ws, id, MASTERY, variables={"c": "c-dup"})
        code, reason = await closed(ws)
    assert code == 4409
    assert reason.startswith("Subscriber for ") and reason.endswith("already exists")
    if len(id) < 20:
        assert reason == f"Subscriber for {id} already exists"


async def test_an_id_is_free_again_once_its_operation_is_over(app):
    async with socket(app) as ws:
        for _ in range(3):  # a single-result operation completes and frees its id
            await subscribe(ws, "1", Q)
            assert (await receive(ws))["type"] == "next"
            assert await receive(ws) == {"id": "1", "type": "complete"}
        await subscribe(ws, "1", "{ viewer { rol } }")  # so does an error
        assert (await receive(ws))["type"] == "error"
        await subscribe(ws, "1", Q)
        assert (await receive(ws))["type"] == "next"
        assert (await receive(ws))["type"] == "complete"


async def test_connection_init_timeout_closes_with_4408(app, monkeypatch):
    monkeypatch.setattr(app.state.graphql, "connection_init_wait_timeout", timedelta(seconds=0.2))
    async with socket(app, init=False) as ws:
        assert await closed(ws) == (4408, "Connection initialisation timeout")


# --- ping, pong, complete -----------------------------------------------------------------


@pytest.mark.parametrize("initialised", [False, True], ids=["before-init", "after-init"])
async def test_ping_is_answered_with_pong_and_pong_with_nothing(app, initialised):
    async with socket(app, init=initialised) as ws:
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await ws.send_json({"type": "ping", "payload": None})
        assert await receive(ws) == {"type": "pong"}
        await ws.send_json({"type": "ping", "payload": {"at": 1}})
        assert await receive(ws) == {"type": "pong", "payload": {"at": 1}}
        for pong in ({"type": "pong"}, {"type": "pong", "payload": {"x": 1}}):
            await ws.send_json(pong)
            await quiet(ws)
        await still_open(ws)


async def test_complete_ends_only_that_subscription(app, gql):
    async with socket(app) as ws:
        for id in ("a", "b"):
            await subscribe(ws, id, MASTERY, variables={"c": "c-both"})
            first = await receive(ws)
            assert first["id"] == id and first["type"] == "next", first
        await ws.send_json({"id": "a", "type": "complete"})
        await ws.send_json({"id": "unknown", "type": "complete"})  # ignored
        assert "errors" not in await ingest(gql, [record(class_id="c-both")])
        update = await receive(ws)
        assert update["id"] == "b" and update["type"] == "next", update
        assert update["payload"]["data"]["classMastery"]["population"] == 1
        await quiet(ws)  # nothing for "a", not even its complete
        # "b" still holds its id, "a" no longer does.
        await subscribe(ws, "a", Q)
        assert (await receive(ws))["id"] == "a"
        assert await receive(ws) == {"id": "a", "type": "complete"}
        await subscribe(ws, "b", Q)
        assert (await closed(ws))[0] == 4409


# --- errors carry the codes they carry over HTTP ---------------------------------------

DEPTH = "id"
for _ in range(7):
    DEPTH = f"students(first: 1) {{ edges {{ node {{ classes {{ {DEPTH} }} }} }} }}"
ALIASES = " ".join(f"a{i}: viewer {{ role }}" for i in range(31))

DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    ("validation", {"query": "{ viewer { rol } }"}),
    ("parse", {"query": "{ viewer { role "}),
    ("parse-garbage", {"query": "🙂"}),
    ("empty", {"query": ""}),
    ("blank", {"query": "   "}),
    ("depth", {"query": f'{{ class(id: "c1") {{ {DEPTH} }} }}'}),
    ("aliases", {"query": f"{{ {ALIASES} }}"}),
    ("tokens", {"query": "{ viewer { " + " ".join(["role"] * 2100) + " } }"}),
    ("cost", {"query": NESTED_PAGES}),
    ("missing-variable", {"query": "query($c: ID!) { class(id: $c) { id } }"}),
    (
        "bad-variable",
        {
            "query": "query($n: Int!) { classes(first: $n) { edges { cursor } } }",
            "variables": {"n": "x"},
        },
    ),
    ("unknown-operation", {"query": "query A { viewer { role } }", "operationName": "B"}),
    ("two-anonymous", {"query": "query A { viewer { role } } query B { viewer { role } }"}),
    ("subscription-validation", {"query": "subscription { classMastery { classId } }"}),
    (
        "two-root-fields",
        {
            "query": 'subscription { a: classMastery(classId: "x") { classId } b: classMastery(classId: "y") { classId } }'
        },
    ),
]


async def http_codes(client: httpx.AsyncClient, body: dict[str, Any]) -> list[str]:
    response = await client.post("/graphql", json=body, headers={"X-API-Key": ADMIN_KEY})
    assert response.headers["content-type"].startswith("application/json"), response.text
    return error_codes(response.json())


@pytest.mark.parametrize("body", [b for _, b in DOCUMENTS], ids=[n for n, _ in DOCUMENTS])
async def test_errors_carry_the_code_they_carry_over_http(app, client, body):
    expected = await http_codes(client, body)
    assert expected, "the document is refused over HTTP"
    async with socket(app) as ws:
        await ws.send_json({"id": "1", "type": "subscribe", "payload": body})
        message = await receive(ws)
        assert message["type"] in ("error", "next") and message["id"] == "1", message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert error_codes({"errors": errors}) == expected, (message, expected)
        if message["type"] == "error":  # no complete after an error
            await quiet(ws)
        else:
            assert await receive(ws) == {"id": "1", "type": "complete"}
        await still_open(ws)


async def test_the_subscription_limit_is_an_error_with_a_code(services):
    async with app_with(services, LEARNTWIN_MAX_SUBSCRIPTIONS="2") as app, socket(app) as ws:
        for id in ("1", "2"):
            await subscribe(ws, id, MASTERY, variables={"c": "c-limit"})
            assert (await receive(ws))["type"] == "next"
        await subscribe(ws, "3", MASTERY, variables={"c": "c-limit"})
        refused = await receive(ws)
        assert refused["type"] == "error" and refused["id"] == "3", refused
        [error] = refused["payload"]
        assert error["extensions"]["code"] == "RATE_LIMITED", error
        assert error["extensions"]["maximum"] == 2
        await still_open(ws)
        # The refused id was never taken; completing one frees a place.
        await ws.send_json({"id": "1", "type": "complete"})
        await subscribe(ws, "3", MASTERY, variables={"c": "c-limit"})
        assert (await receive(ws))["id"] == "3"
