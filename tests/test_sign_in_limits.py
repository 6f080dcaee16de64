"""Accounts an attacker cannot claim, and sign-in limits that hold under concurrency,
across addresses and while Redis is down, without locking the owner out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from db import identity
from learntwin_graphql import auth
from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    ADMIN_KEY,
    LEARNER_PASSWORD,
    GraphQLClient,
    Services,
    clean,
    error_codes,
    free_port,
    learner_token,
    make_settings,
)
from tests.test_analytics import ingest, record

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { token user { id email role studentId } }
}"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
LINK = "mutation($u: ID!, $s: ID!) { linkStudent(userId: $u, studentId: $s) { id studentId } }"
OWN_DATA = '{ student(id: "s1") { id mastery { population } } }'
VIEWER = "{ viewer { role apiKeyName } }"


@contextlib.asynccontextmanager
async def from_address(app: Any, address: str) -> AsyncIterator[GraphQLClient]:
    """A client whose requests come from `address`, as the server sees it."""
    transport = httpx.ASGITransport(app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http)


async def register(gql: GraphQLClient, email: str, **extra: Any) -> dict[str, Any]:
    account = {"email": email, "password": LEARNER_PASSWORD, **extra}
    return await gql(REGISTER, {"input": account}, api_key=None)


# --- claiming students -----------------------------------------------------------


async def test_register_cannot_claim_a_student_with_data(gql):
    await ingest(gql, [record("c1", "s1")])
    body = await register(gql, "thief@example.org", studentId="s1")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "studentId"
    assert body["data"] is None
    # Nothing was created: the same email may register afterwards, with a fresh student.
    fresh = await register(gql, "thief@example.org")
    student_id = fresh["data"]["register"]["user"]["studentId"]
    assert student_id.startswith("s-") and student_id != "s1"
    token = fresh["data"]["register"]["token"]
    assert error_codes(await gql(OWN_DATA, token=token)) == ["FORBIDDEN"]


async def test_register_cannot_claim_a_student_known_only_from_a_prediction(gql, score_model):
    predicted = await gql(
        "mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) { totalProcessed } }",
        {
            "s": [
                {
                    "studentId": "s-predicted",
                    "comprehension": 50,
                    "attention": 50,
                    "focus": 50,
                    "retention": 50,
                    "engagementTime": 60,
                }
            ]
        },
    )
    assert "errors" not in predicted, predicted
    body = await register(gql, "p@example.org", studentId="s-predicted")
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_register_with_a_new_student_id_makes_it_the_learners_own(gql):
    body = await register(gql, "own@example.org", studentId="s-brand-new")
    assert body["data"]["register"]["user"]["studentId"] == "s-brand-new"
    again = await register(gql, "second@example.org", studentId="s-brand-new")
    assert error_codes(again) == ["BAD_USER_INPUT"]


async def test_staff_link_an_account_to_a_student_and_new_tokens_carry_it(gql):
    await ingest(gql, [record("c1", "s1")])
    registered = await register(gql, "ada@example.org")
    user_id = registered["data"]["register"]["user"]["id"]
    old_token = registered["data"]["register"]["token"]

    made = await gql('mutation { createApiKey(name: "teacher", role: INSTRUCTOR) { key } }')
    instructor = made["data"]["createApiKey"]["key"]
    linked = await gql(LINK, {"u": user_id, "s": "s1"}, api_key=instructor)
    assert linked["data"]["linkStudent"] == {"id": user_id, "studentId": "s1"}

    assert error_codes(await gql(OWN_DATA, token=old_token)) == ["FORBIDDEN"]
    login = await gql(LOGIN, {"e": "ada@example.org", "p": LEARNER_PASSWORD}, api_key=None)
    token = login["data"]["login"]["token"]
    own = await gql(OWN_DATA, token=token)
    assert own["data"]["student"] == {"id": "s1", "mastery": {"population": 1}}


async def test_link_student_refusals(gql, runtime):
    await ingest(gql, [record("c1", "s1"), record("c1", "s2")])
    first = await register(gql, "one@example.org")
    second = await register(gql, "two@example.org")
    one, two = (b["data"]["register"]["user"]["id"] for b in (first, second))
    staff = await identity.create_user(
        runtime.engine,
        email="teacher@example.org",
        password_hash=await auth.hash_password("0123456789ab"),
        role="INSTRUCTOR",
        student_id=None,
    )
    assert "errors" not in await gql(LINK, {"u": one, "s": "s1"})
    assert "errors" not in await gql(LINK, {"u": one, "s": "s1"})  # the same link again is fine
    cases = [
        ({"u": two, "s": "s1"}, "BAD_USER_INPUT", "studentId"),  # linked to someone else
        ({"u": two, "s": "s-nobody"}, "NOT_FOUND", "studentId"),
        ({"u": "987654", "s": "s2"}, "NOT_FOUND", "userId"),
        ({"u": "not-a-number", "s": "s2"}, "NOT_FOUND", "userId"),
        ({"u": "99999999999999999999999", "s": "s2"}, "NOT_FOUND", "userId"),
        ({"u": str(staff["id"]), "s": "s2"}, "BAD_USER_INPUT", "userId"),
    ]
    for variables, code, field in cases:
        body = await gql(LINK, variables)
        assert error_codes(body) == [code], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field, variables
    learner = first["data"]["register"]["token"]
    assert error_codes(await gql(LINK, {"u": two, "s": "s2"}, token=learner)) == ["FORBIDDEN"]
    assert error_codes(await gql(LINK, {"u": two, "s": "s2"}, api_key=None)) == ["UNAUTHENTICATED"]


async def test_learner_token_helper_links_existing_students(gql):
    await ingest(gql, [record("c1", "s1")])
    token = await learner_token(gql, "helper@example.org", "s1")
    assert (await gql(OWN_DATA, token=token))["data"]["student"]["id"] == "s1"


# --- one sign-in per request ------------------------------------------------------


async def test_one_register_or_login_per_request(gql, runtime):
    aliased = """mutation {
      a: register(input: {email: "a@example.org", password: "0123456789"}) { token }
      b: register(input: {email: "b@example.org", password: "0123456789"}) { token }
    }"""
    mixed = """mutation {
      register(input: {email: "c@example.org", password: "0123456789"}) { token }
      ...Again
    }
    fragment Again on Mutation { login(email: "c@example.org", password: "0123456789") { token } }
    """
    for query in (aliased, mixed):
        body = await gql(query, api_key=None)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert "At most one" in body["errors"][0]["message"]
    assert await identity.user_credentials(runtime.engine, "a@example.org") is None
    assert await identity.user_credentials(runtime.engine, "c@example.org") is None


async def test_registrations_are_limited_per_address(app, runtime):
    limit = runtime.settings.registrations_per_address
    async with from_address(app, "10.1.0.1") as gql, from_address(app, "10.1.0.2") as other:
        for number in range(limit):
            body = await register(gql, f"r{number}@example.org")
            assert "errors" not in body, body
        refused = await register(gql, "one-too-many@example.org")
        assert error_codes(refused) == ["RATE_LIMITED"]
        assert refused["errors"][0]["extensions"]["retryAfter"] > 0
        assert "errors" not in await register(other, "elsewhere@example.org")


# --- login limits ------------------------------------------------------------------


async def test_concurrent_wrong_passwords_cannot_pass_the_limit(app, runtime):
    async with from_address(app, "10.2.0.1") as gql:
        assert "errors" not in await register(gql, "victim@example.org")
        wrong = {"e": "victim@example.org", "p": "not-the-password"}
        results = await asyncio.gather(*(gql(LOGIN, wrong, api_key=None) for _ in range(60)))
    codes = [error_codes(body) for body in results]
    limit = runtime.settings.login_failures_per_email
    assert codes.count(["UNAUTHENTICATED"]) == limit
    assert codes.count(["RATE_LIMITED"]) == 60 - limit


async def test_the_owner_logs_in_while_an_attacker_is_locked_out(app, runtime):
    limit = runtime.settings.login_failures_per_email
    async with from_address(app, "10.3.0.1") as owner, from_address(app, "10.3.0.66") as attacker:
        assert "errors" not in await register(owner, "owner@example.org")
        for _ in range(limit):
            body = await attacker(LOGIN, {"e": "owner@example.org", "p": "guess"}, api_key=None)
            assert error_codes(body) == ["UNAUTHENTICATED"]
        right = {"e": "owner@example.org", "p": LEARNER_PASSWORD}
        # Even the right password is refused to the client that has been guessing.
        assert error_codes(await attacker(LOGIN, right, api_key=None)) == ["RATE_LIMITED"]
        assert "errors" not in await owner(LOGIN, right, api_key=None)
        assert "errors" not in await owner(LOGIN, right, api_key=None)


async def test_spraying_one_password_over_many_emails_is_limited(app, runtime):
    limit = runtime.settings.login_failures_per_address
    async with from_address(app, "10.4.0.1") as sprayer, from_address(app, "10.4.0.2") as other:
        codes = [
            error_codes(
                await sprayer(LOGIN, {"e": f"u{n}@example.org", "p": "Summer2026!"}, api_key=None)
            )
            for n in range(30)
        ]
        assert codes[:limit] == [["UNAUTHENTICATED"]] * limit
        assert codes[limit:] == [["RATE_LIMITED"]] * (30 - limit)
        body = await other(LOGIN, {"e": "u0@example.org", "p": "Summer2026!"}, api_key=None)
        assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_login_limits_hold_while_redis_is_down(services: Services):
    await clean(services)
    # Nothing listens on this port: every Redis call fails at once.
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        app = create_app(runtime=runtime)
        async with from_address(app, "10.5.0.1") as gql, from_address(app, "10.5.0.2") as owner:
            assert "errors" not in await register(gql, "down@example.org")
            wrong = {"e": "down@example.org", "p": "not-the-password"}
            codes = [error_codes(await gql(LOGIN, wrong, api_key=None)) for _ in range(12)]
            limit = settings.login_failures_per_email
            assert codes == [["UNAUTHENTICATED"]] * limit + [["RATE_LIMITED"]] * (12 - limit)
            right = {"e": "down@example.org", "p": LEARNER_PASSWORD}
            assert "errors" not in await owner(LOGIN, right, api_key=None)


# --- API keys -------------------------------------------------------------------


async def test_api_key_guesses_are_limited_per_address(app, runtime, client):
    limit = runtime.settings.api_key_failures_per_address
    made = await GraphQLClient(client)('mutation { createApiKey(name: "k", role: ADMIN) { key } }')
    good = made["data"]["createApiKey"]["key"]
    async with from_address(app, "10.6.0.1") as guesser, from_address(app, "10.6.0.2") as other:
        assert (await guesser(VIEWER, api_key=good))["data"]["viewer"]["apiKeyName"] == "k"
        for number in range(limit):
            body = await guesser(VIEWER, api_key=f"lt_guess-{number}")
            assert error_codes(body) == ["UNAUTHENTICATED"]
        refused = await guesser(VIEWER, api_key="lt_one-more")
        assert error_codes(refused) == ["RATE_LIMITED"]
        assert refused["errors"][0]["extensions"]["retryAfter"] > 0
        # The address is refused for stored keys until the window ends; others are not.
        assert error_codes(await guesser(VIEWER, api_key=good)) == ["RATE_LIMITED"]
        assert (await other(VIEWER, api_key=good))["data"]["viewer"]["apiKeyName"] == "k"
        # The configured admin key takes no lookup, so it is never refused.
        admin = await guesser(VIEWER, api_key=ADMIN_KEY)
        assert admin["data"]["viewer"]["role"] == "ADMIN"
    rest = httpx.ASGITransport(app, client=("10.6.0.1", 40000))
    async with httpx.AsyncClient(transport=rest, base_url="http://test") as http:
        response = await http.get("/mastery/c1", headers={"X-API-Key": good})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0 and "detail" in response.json()
