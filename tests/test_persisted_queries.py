"""Automatic persisted queries as Apollo's PersistedQueryLink sends them, over POST and GET:
not found, then the document with its hash, then the hash alone; refusals; Redis down."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from learntwin_graphql.app import create_app
from learntwin_graphql.persisted_queries import APQ_PREFIX, MAX_DOCUMENT_BYTES, TTL_SECONDS
from learntwin_graphql.runtime import Runtime
from tests.conftest import ADMIN_KEY, free_port, make_settings

ADMIN = {"X-API-Key": ADMIN_KEY}
GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY = "query Viewer($n: Int!) { viewer { role } classes(first: $n) { edges { node { id } } } }"
MUTATION = 'mutation M { createApiKey(name: "apq", role: ADMIN) { key } }'


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def extensions(query: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha(query)}}


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or ()]


async def post(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={**ADMIN, **headers})


async def get(client: httpx.AsyncClient, params: dict[str, Any], **headers: str) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await client.get("/graphql", params=encoded, headers={**ADMIN, **headers})


EXPECTED = {"data": {"viewer": {"role": "ADMIN"}, "classes": {"edges": []}}}


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_post_not_found_then_retry_with_the_document_then_a_hit(client, runtime, accept):
    headers = {"Accept": accept} if accept else {}
    variables = {"n": 1}
    missing = await post(
        client,
        {"extensions": extensions(QUERY), "variables": variables, "operationName": "Viewer"},
        **headers,
    )
    assert missing.status_code == 200, missing.text
    body = missing.json()
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "data" not in body

    full = await post(
        client,
        {
            "query": QUERY,
            "extensions": extensions(QUERY),
            "variables": variables,
            "operationName": "Viewer",
        },
        **headers,
    )
    assert full.status_code == 200 and full.json() == EXPECTED
    key = APQ_PREFIX + sha(QUERY)
    assert (await runtime.redis.get(key)).decode() == QUERY
    ttl = await runtime.redis.ttl(key)
    assert 0 < ttl <= TTL_SECONDS

    hit = await post(
        client,
        {"extensions": extensions(QUERY), "variables": variables, "operationName": "Viewer"},
        **headers,
    )
    assert hit.status_code == 200 and hit.json() == EXPECTED


async def test_get_not_found_then_retry_then_a_hit(client):
    # Apollo's useGETForHashedQueries: the hash in `extensions`, no `query`.
    params = {"extensions": extensions(QUERY), "variables": {"n": 1}, "operationName": "Viewer"}
    missing = await get(client, params, Accept="*/*")
    assert missing.status_code == 200
    assert missing.headers["content-type"] == "application/json"  # no GraphiQL page
    assert codes(missing.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    full = await get(client, {**params, "query": QUERY})
    assert full.status_code == 200 and full.json() == EXPECTED
    hit = await get(client, params)
    assert hit.status_code == 200 and hit.json() == EXPECTED


async def test_a_hash_stored_by_post_is_found_by_get(client):
    await post(client, {"query": QUERY, "extensions": extensions(QUERY), "variables": {"n": 1}})
    hit = await get(client, {"extensions": extensions(QUERY), "variables": {"n": 1}})
    assert hit.json() == EXPECTED


async def test_get_refuses_a_persisted_mutation(client, runtime):
    stored = await post(client, {"query": MUTATION, "extensions": extensions(MUTATION)})
    assert stored.status_code == 200 and "errors" not in stored.json()
    for params in (
        {"extensions": extensions(MUTATION)},
        {"extensions": extensions(MUTATION), "query": MUTATION},
    ):
        response = await get(client, params)
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert codes(response.json()) == ["BAD_USER_INPUT"]
    # Over POST the stored hash runs it.
    again = await post(client, {"extensions": extensions(MUTATION)})
    assert again.status_code == 200 and "errors" not in again.json(), again.text


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_a_hash_that_does_not_match_the_document_is_refused(client, runtime, accept):
    headers = {"Accept": accept} if accept else {}
    other = "{ __typename }"
    response = await post(
        client, {"query": QUERY, "extensions": extensions(other), "variables": {"n": 1}}, **headers
    )
    assert response.status_code == 400
    body = response.json()
    assert codes(body) == ["PERSISTED_QUERY_HASH_MISMATCH"] and "data" not in body
    assert await runtime.redis.get(APQ_PREFIX + sha(other)) is None
    # The hash was not stored for the wrong document: still not found.
    assert codes((await post(client, {"extensions": extensions(other)})).json()) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


@pytest.mark.parametrize(
    ("persisted", "code"),
    [
        ({"version": 2, "sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"version": "1", "sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"version": True, "sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"sha256Hash": sha(QUERY)}, "PERSISTED_QUERY_NOT_SUPPORTED"),
        ({"version": 1}, "BAD_USER_INPUT"),
        ({"version": 1, "sha256Hash": "abc"}, "BAD_USER_INPUT"),
        ({"version": 1, "sha256Hash": 5}, "BAD_USER_INPUT"),
        ("not an object", "BAD_USER_INPUT"),
    ],
)
async def test_malformed_persisted_queries_are_clear_400s(client, persisted, code):
    for body in (
        {"extensions": {"persistedQuery": persisted}},
        {"query": QUERY, "extensions": {"persistedQuery": persisted}, "variables": {"n": 1}},
    ):
        response = await post(client, body)
        assert response.status_code == 400, response.text
        assert codes(response.json()) == [code]
        assert response.json()["errors"][0]["message"]


async def test_an_uppercase_hash_is_the_same_hash(client):
    upper = {"persistedQuery": {"version": 1, "sha256Hash": sha(QUERY).upper()}}
    await post(client, {"query": QUERY, "extensions": upper, "variables": {"n": 1}})
    hit = await post(client, {"extensions": extensions(QUERY), "variables": {"n": 1}})
    assert hit.json() == EXPECTED


async def test_documents_that_do_not_parse_or_are_too_large_are_run_but_not_stored(client, runtime):
    broken = "{ viewer { role }"
    response = await post(client, {"query": broken, "extensions": extensions(broken)})
    assert response.status_code == 200 and codes(response.json()) == ["BAD_USER_INPUT"]
    assert await runtime.redis.get(APQ_PREFIX + sha(broken)) is None

    padding = "#" + "x" * MAX_DOCUMENT_BYTES + "\n"
    large = padding + "{ __typename }"
    response = await post(client, {"query": large, "extensions": extensions(large)})
    assert response.json() == {"data": {"__typename": "Query"}}
    assert await runtime.redis.get(APQ_PREFIX + sha(large)) is None


async def test_a_persisted_document_gets_the_same_request_checks(client):
    several = "query A { __typename } query B { __typename }"
    stored = await post(client, {"query": several, "extensions": extensions(several)})
    assert codes(stored.json()) == ["BAD_USER_INPUT"]
    subscription = 'subscription { classMastery(classId: "c") { population } }'
    response = await post(
        client,
        {"query": subscription, "extensions": extensions(subscription)},
        Accept=GRAPHQL_RESPONSE,
    )
    assert response.status_code == 400 and "WebSocket" in response.text
    assert "data" not in response.json()


async def test_persisted_requests_skip_the_fast_lane_and_answer_alike(app, client):
    lane = app.state.graphql.fast_lane
    plain = {"query": QUERY, "variables": {"n": 1}}
    await post(client, plain)  # the document is known to the fast lane now
    await post(client, {**plain, "extensions": extensions(QUERY)})
    before = lane.answered
    by_hash = await post(client, {"extensions": extensions(QUERY), "variables": {"n": 1}})
    full = await post(client, {**plain, "extensions": extensions(QUERY)})
    assert lane.answered == before
    fast = await post(client, plain)
    assert lane.answered == before + 1
    assert by_hash.json() == full.json() == fast.json() == EXPECTED
    assert by_hash.headers["content-type"] == fast.headers["content-type"]


@pytest.fixture
async def redis_down_client(services):
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_with_redis_down_documents_are_still_served(redis_down_client):
    client = redis_down_client
    missing = await post(client, {"extensions": extensions(QUERY), "variables": {"n": 1}})
    assert missing.status_code == 200, missing.text
    assert codes(missing.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    for _ in range(2):
        full = await post(
            client, {"query": QUERY, "extensions": extensions(QUERY), "variables": {"n": 1}}
        )
        assert full.status_code == 200 and full.json() == EXPECTED, full.text
    got = await get(client, {"extensions": extensions(QUERY), "variables": {"n": 1}})
    assert got.status_code == 200 and codes(got.json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    plain = await post(client, {"query": "{ viewer { role } }"})
    assert plain.json() == {"data": {"viewer": {"role": "ADMIN"}}}
