"""The HTTP fast lane answers a known document exactly as Strawberry's path does.

Each request is sent twice over real HTTP to the ASGI app: the first time the document
is new and takes Strawberry's path (which remembers it once it validates), the second
time the fast lane may take it. Status, content type and JSON must be the same, and the
lane must have served exactly the requests it is meant to.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, learner_token
from tests.test_analytics import ingest, record

ADMIN = {"X-API-Key": ADMIN_KEY}
STUDENTS = "query($id: ID!, $n: Int!) { class(id: $id) { students(first: $n) { edges { cursor node { id classes { id } mastery { population avgConfidence } } } pageInfo { hasNextPage endCursor } } } }"

# (name, headers, JSON body or raw bytes, whether the second one is the fast lane's)
CASES: list[tuple[str, dict[str, str], Any, bool]] = [
    ("typename", ADMIN, {"query": "{ __typename }"}, True),
    ("nested page", ADMIN, {"query": STUDENTS, "variables": {"id": "fl", "n": 2}}, True),
    (
        "named operation",
        ADMIN,
        {"query": "query A { __typename } query B { viewer { role } }", "operationName": "B"},
        True,
    ),
    ("unknown class", ADMIN, {"query": '{ class(id: "nope") { id } }'}, True),
    ("bad variable", ADMIN, {"query": STUDENTS, "variables": {"id": "fl", "n": "two"}}, True),
    ("missing variable", ADMIN, {"query": STUDENTS, "variables": {"id": "fl"}}, True),
    ("page too large", ADMIN, {"query": STUDENTS, "variables": {"id": "fl", "n": 600}}, True),
    (
        "page over the cost limit",
        ADMIN,
        {"query": STUDENTS, "variables": {"id": "fl", "n": 100000}},
        False,
    ),
    (
        "cost over the limit",
        ADMIN,
        {
            "query": "query($n: Int!) { classes(first: $n) { edges { node { students(first: $n) { edges { node { metrics(first: $n) { edges { node { id } } } } } } } } } }",
            "variables": {"n": 500},
        },
        False,
    ),
    ("wrong key", {"X-API-Key": "not-a-key"}, {"query": "{ viewer { role } }"}, True),
    ("anonymous", {}, {"query": '{ class(id: "fl") { id } }'}, True),
    (
        "no operation of that name",
        ADMIN,
        {"query": "query A { __typename }", "operationName": "Z"},
        False,
    ),
    (
        "two operations, no name",
        ADMIN,
        {"query": "query A { __typename } query B { __typename }"},
        False,
    ),
    ("validation error", ADMIN, {"query": "{ nope }"}, False),
    ("extensions", ADMIN, {"query": "{ __typename }", "extensions": {"x": 1}}, False),
    ("variables not an object", ADMIN, {"query": "{ __typename }", "variables": [1]}, False),
    ("a batch", ADMIN, [{"query": "{ __typename }"}], False),
    ("not JSON", {**ADMIN, "Content-Type": "application/json"}, b"{nope", False),
    (
        "a subscription",
        ADMIN,
        {"query": 'subscription { classMastery(classId: "fl") { population } }'},
        False,
    ),
    (
        "idempotent mutation",
        ADMIN,
        {
            "query": "mutation($u: ID!, $s: ID!) { linkStudent(userId: $u, studentId: $s) { studentId } }",
            "variables": {"u": "999999", "s": "fl-0"},
        },
        True,
    ),
]


async def _send(client: Any, headers: dict[str, str], body: Any) -> tuple[int, str, Any]:
    if isinstance(body, bytes):
        response = await client.post("/graphql", content=body, headers=headers)
    else:
        response = await client.post("/graphql", json=body, headers=headers)
    try:
        content: Any = response.json()
    except ValueError:
        content = response.text
    for error in content.get("errors") or () if isinstance(content, dict) else ():
        error.get("extensions", {}).pop("requestId", None)  # one per request
    return response.status_code, response.headers.get("content-type", ""), content


@pytest.mark.parametrize(
    ("headers", "body", "fast"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_the_second_request_is_answered_alike(app, client, gql, headers, body, fast):
    await ingest(gql, [record("fl", f"fl-{s}", minutes=s) for s in range(3)])
    lane = app.state.graphql.fast_lane
    first = await _send(client, headers, body)
    before = lane.answered
    second = await _send(client, headers, body)
    assert second == first
    assert lane.answered - before == (1 if fast else 0)


async def test_a_learner_gets_the_same_refusals_and_data(app, client, gql):
    await ingest(gql, [record("fl", "fl-own", minutes=1), record("fl", "fl-other", minutes=2)])
    token = await learner_token(gql, "fl@example.com", "fl-own")
    lane = app.state.graphql.fast_lane
    query = {"query": "query($s: ID!) { student(id: $s) { id mastery { population } } }"}
    for student, code in (("fl-own", None), ("fl-other", "FORBIDDEN")):
        body = {**query, "variables": {"s": student}}
        headers = {"Authorization": f"Bearer {token}"}
        first = await _send(client, headers, body)
        before = lane.answered
        second = await _send(client, headers, body)
        assert second == first and lane.answered == before + 1
        errors = first[2].get("errors") or [{}]
        assert errors[0].get("extensions", {}).get("code") == code, first
