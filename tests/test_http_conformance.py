"""GraphQL over HTTP, as the spec and real clients want it: content negotiation, request
errors (400 without `data` for application/graphql-response+json), 405 with `Allow`,
JSON bodies for every refusal, several operations, subscriptions over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from learntwin_graphql.http_media import negotiate
from tests.conftest import ADMIN_KEY

ADMIN = {"X-API-Key": ADMIN_KEY}
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
ACCEPT_GRAPHQL = {**ADMIN, "Accept": f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"}
STUDENTS = (
    "query($id: ID!, $n: Int!) { class(id: $id) { students(first: $n) { edges { node { id } } } } }"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", JSON),
        (f"{JSON};q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};charset=utf-8, */*;q=0.1", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, {JSON}", JSON),
        ("text/html", JSON),
    ],
)
def test_negotiation(accept, expected):
    assert negotiate(accept) == expected


def _error_shape(body: dict[str, Any]) -> None:
    assert body["errors"], body
    for error in body["errors"]:
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["extensions"]["code"], str)


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
    ],
)
async def test_a_query_answers_with_the_negotiated_media_type(client, accept, media_type):
    headers = {**ADMIN, **({"Accept": accept} if accept is not None else {})}
    for _ in range(2):  # Strawberry's path, then the fast lane's
        response = await client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


# Request errors: each is a 400 without `data` for graphql-response+json; with
# application/json, the GraphQL ones stay 200 with `"data": null`.
REQUEST_ERRORS: list[tuple[str, dict[str, Any], int]] = [
    ("parse", {"query": "{ viewer { role }"}, 200),
    ("validation", {"query": "{ viewer { nope } }"}, 200),
    ("variable coercion", {"query": STUDENTS, "variables": {"id": "c", "n": "two"}}, 200),
    ("missing variable", {"query": STUDENTS, "variables": {"id": "c"}}, 200),
    ("several operations", {"query": "query A { __typename } query B { __typename }"}, 200),
    ("no query", {}, 400),
    ("null query", {"query": None}, 400),
    ("query not a string", {"query": 5}, 400),
    ("variables not an object", {"query": "{ __typename }", "variables": [1]}, 400),
    ("unknown operation name", {"query": "query A { __typename }", "operationName": "Z"}, 400),
]


@pytest.mark.parametrize(
    ("body", "json_status"), [c[1:] for c in REQUEST_ERRORS], ids=[c[0] for c in REQUEST_ERRORS]
)
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    client, body, json_status
):
    for _ in range(2):  # the second time a known document may take the fast lane
        response = await client.post("/graphql", json=body, headers=ACCEPT_GRAPHQL)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == GRAPHQL_RESPONSE
        answer = response.json()
        assert "data" not in answer, answer
        _error_shape(answer)
        assert {e["extensions"]["code"] for e in answer["errors"]} == {"BAD_USER_INPUT"}

    legacy = await client.post("/graphql", json=body, headers=ADMIN)
    assert legacy.status_code == json_status, legacy.text
    assert legacy.headers["content-type"] == JSON
    _error_shape(legacy.json())
    if json_status == 200:
        assert legacy.json()["data"] is None


async def test_field_errors_stay_200_with_data(client):
    body = {"query": '{ viewer { role } class(id: "nope") { id } }'}
    for headers in (ADMIN, ACCEPT_GRAPHQL):
        for _ in range(2):
            response = await client.post("/graphql", json=body, headers=headers)
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["data"]["viewer"] == {"role": "ADMIN"}
            assert "data" in answer


async def test_anonymous_field_errors_stay_200(client):
    # Refused credentials fail the fields asking who is calling: field errors, with data.
    for headers in ({"Accept": GRAPHQL_RESPONSE}, {}):
        response = await client.post(
            "/graphql", json={"query": '{ class(id: "c") { id } }'}, headers=headers
        )
        assert response.status_code == 200
        assert "data" in response.json()


async def test_the_fast_lane_answers_request_errors_alike(app, client):
    lane = app.state.graphql.fast_lane
    body = {"query": STUDENTS, "variables": {"id": "c", "n": "two"}}
    first = await client.post("/graphql", json=body, headers=ACCEPT_GRAPHQL)
    before = lane.answered
    second = await client.post("/graphql", json=body, headers=ACCEPT_GRAPHQL)
    assert lane.answered == before + 1
    assert (second.status_code, second.headers["content-type"], second.json()) == (
        first.status_code,
        first.headers["content-type"],
        first.json(),
    )


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_a_mutation_over_get_is_405_with_allow_post(client, accept):
    headers = {**ADMIN, **({"Accept": accept} if accept else {})}
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createApiKey(name: "x", role: ADMIN) { key } }'},
        headers=headers,
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == (accept or JSON)
    body = response.json()
    assert "data" not in body
    _error_shape(body)
    assert "POST" in body["errors"][0]["message"]


async def test_a_named_mutation_over_get_is_refused_too(client):
    response = await client.get(
        "/graphql",
        params={
            "query": 'query Q { __typename } mutation M { createApiKey(name: "x", role: ADMIN) { key } }',
            "operationName": "M",
        },
        headers=ADMIN,
    )
    assert response.status_code == 405 and response.headers["allow"] == "POST"


async def test_a_query_over_get_still_runs(client):
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await client.get(
            "/graphql",
            params={"query": "query Q { viewer { role } }", "operationName": "Q"},
            headers={**ADMIN, "Accept": accept},
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == accept
        assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_with_a_graphql_body(client, method):
    response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == JSON
    _error_shape(response.json())


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        (None, b'{"query": "{ __typename }"}'),
        ("text/plain", b'{"query": "{ __typename }"}'),
        ("application/graphql", b"{ __typename }"),
        ("application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
        ("multipart/form-data; boundary=x", b"--x--"),
    ],
)
async def test_an_unsupported_content_type_is_415_with_a_graphql_body(
    client, content_type, content
):
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql", content=content, headers={**headers, "Accept": accept}
        )
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == accept
        body = response.json()
        assert "data" not in body
        _error_shape(body)


async def test_json_with_a_charset_is_accepted(client):
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ viewer { role } }"}',
        headers={**ADMIN, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200 and response.json()["data"]["viewer"]["role"] == "ADMIN"


@pytest.mark.parametrize(
    "content",
    [b"", b"{nope", b"[]", b'[{"query": "{ __typename }"}]', b"5", b'"x"', b"null"],
    ids=["empty", "not JSON", "empty batch", "batch", "number", "string", "null"],
)
async def test_bad_bodies_are_400_with_a_graphql_body(client, content):
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = await client.post(
            "/graphql",
            content=content,
            headers={**ADMIN, "Content-Type": JSON, "Accept": accept},
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == accept
        body = response.json()
        assert "data" not in body
        _error_shape(body)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_several_operations_without_a_name_run_nothing(client):
    mutation = 'mutation M { createApiKey(name: "should-not-exist", role: ADMIN) { key } }'
    response = await client.post(
        "/graphql", json={"query": f"{mutation} query Q {{ __typename }}"}, headers=ADMIN
    )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "operationName" in body["errors"][0]["message"]
    # The name picks one.
    named = await client.post(
        "/graphql",
        json={"query": f"{mutation} query Q {{ __typename }}", "operationName": "Q"},
        headers=ADMIN,
    )
    assert named.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_a_subscription_over_http_points_to_the_websocket(client, accept):
    query = 'subscription { classMastery(classId: "c") { population } }'
    for _ in range(2):
        response = await client.post(
            "/graphql", json={"query": query}, headers={**ADMIN, "Accept": accept}
        )
        assert response.status_code == (200 if accept == JSON else 400)
        body = response.json()
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "graphql-transport-ws" in error["message"] and "/graphql" in error["message"]
        assert "WebSocket" in error["message"]
    over_get = await client.get("/graphql", params={"query": query}, headers=ADMIN)
    assert over_get.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_graphiql_is_still_served(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
