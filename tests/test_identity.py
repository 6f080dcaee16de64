"""viewer, register, login and createApiKey through the ASGI app."""

from __future__ import annotations

from sqlalchemy import select

from db.tables import api_keys
from tests.conftest import ADMIN_KEY, error_codes

VIEWER = "{ viewer { role apiKeyName user { id email role studentId } } }"
REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { token user { id email role studentId } }
}"""
LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }"
)
CREATE_KEY = (
    "mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { key name role } }"
)


async def test_anonymous_viewer_has_no_role(gql):
    body = await gql(VIEWER, api_key=None)
    assert body == {"data": {"viewer": {"role": None, "apiKeyName": None, "user": None}}}


async def test_admin_key_from_settings(gql):
    body = await gql(VIEWER)
    assert body["data"]["viewer"] == {"role": "ADMIN", "apiKeyName": "API_KEY", "user": None}


async def test_unknown_api_key_is_unauthenticated(gql):
    body = await gql(VIEWER, api_key="lt_not-a-key")
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_register_then_login_then_viewer(gql):
    body = await gql(
        REGISTER,
        {"input": {"email": "Ada@Example.org", "password": "correct horse", "studentId": " s-7 "}},
        api_key=None,
    )
    user = body["data"]["register"]["user"]
    assert user["role"] == "LEARNER" and user["studentId"] == "s-7"
    token = body["data"]["register"]["token"]
    viewer = (await gql(VIEWER, token=token))["data"]["viewer"]
    assert viewer["role"] == "LEARNER" and viewer["user"]["email"] == "Ada@Example.org"

    login = await gql(LOGIN, {"e": "ada@example.org", "p": "correct horse"}, api_key=None)
    assert login["data"]["login"]["user"]["id"] == user["id"]
    again = (await gql(VIEWER, token=login["data"]["login"]["token"]))["data"]["viewer"]
    assert again["user"]["studentId"] == "s-7"


async def test_register_without_student_links_a_new_one(gql):
    body = await gql(REGISTER, {"input": {"email": "b@example.org", "password": "0123456789"}})
    assert body["data"]["register"]["user"]["studentId"].startswith("s-")


async def test_register_validation(gql):
    cases = [
        ({"email": "not-an-email", "password": "0123456789"}, "email"),
        ({"email": "a@example.org", "password": "short"}, "password"),
        ({"email": "a@example.org", "password": "0123456789", "studentId": "  "}, "studentId"),
        ({"email": "a@example.org", "password": "0123456789", "studentId": "x" * 65}, "studentId"),
    ]
    for input_, field in cases:
        body = await gql(REGISTER, {"input": input_}, api_key=None)
        assert error_codes(body) == ["BAD_USER_INPUT"], input_
        assert body["errors"][0]["extensions"]["field"] == field


async def test_duplicate_email_and_claimed_student_are_refused(gql):
    first = {"email": "c@example.org", "password": "0123456789", "studentId": "s-1"}
    assert "errors" not in await gql(REGISTER, {"input": first}, api_key=None)
    same_email = {**first, "email": "C@EXAMPLE.ORG", "studentId": "s-2"}
    body = await gql(REGISTER, {"input": same_email}, api_key=None)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "email"
    same_student = {**first, "email": "d@example.org"}
    body = await gql(REGISTER, {"input": same_student}, api_key=None)
    assert body["errors"][0]["extensions"]["field"] == "studentId"


async def test_login_failures_look_the_same(gql):
    await gql(REGISTER, {"input": {"email": "e@example.org", "password": "0123456789"}})
    wrong = await gql(LOGIN, {"e": "e@example.org", "p": "9876543210"}, api_key=None)
    unknown = await gql(LOGIN, {"e": "nobody@example.org", "p": "9876543210"}, api_key=None)
    assert error_codes(wrong) == error_codes(unknown) == ["UNAUTHENTICATED"]
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]


async def test_login_is_rate_limited_after_repeated_failures(gql):
    await gql(REGISTER, {"input": {"email": "f@example.org", "password": "0123456789"}})
    for _ in range(10):
        body = await gql(LOGIN, {"e": "f@example.org", "p": "wrong-password"}, api_key=None)
        assert error_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(LOGIN, {"e": "f@example.org", "p": "0123456789"}, api_key=None)
    assert error_codes(body) == ["RATE_LIMITED"]


async def test_create_api_key_needs_admin(gql):
    anonymous = await gql(CREATE_KEY, {"n": "k", "r": "ADMIN"}, api_key=None)
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    made = await gql(CREATE_KEY, {"n": "teacher", "r": "INSTRUCTOR"})
    instructor_key = made["data"]["createApiKey"]["key"]
    body = await gql(CREATE_KEY, {"n": "k", "r": "ADMIN"}, api_key=instructor_key)
    assert error_codes(body) == ["FORBIDDEN"]
    learner = await gql(REGISTER, {"input": {"email": "g@example.org", "password": "0123456789"}})
    body = await gql(
        CREATE_KEY, {"n": "k", "r": "ADMIN"}, token=learner["data"]["register"]["token"]
    )
    assert error_codes(body) == ["FORBIDDEN"]


async def test_created_key_authenticates_and_is_stored_hashed(gql, runtime):
    made = (await gql(CREATE_KEY, {"n": " ops ", "r": "INSTRUCTOR"}))["data"]["createApiKey"]
    assert made["name"] == "ops" and made["role"] == "INSTRUCTOR"
    viewer = (await gql(VIEWER, api_key=made["key"]))["data"]["viewer"]
    assert viewer == {"role": "INSTRUCTOR", "apiKeyName": "ops", "user": None}
    async with runtime.engine.connect() as conn:
        stored = (await conn.execute(select(api_keys.c.key_hash, api_keys.c.prefix))).all()
    assert len(stored) == 1
    assert made["key"] not in stored[0].key_hash and len(stored[0].key_hash) == 64


async def test_create_api_key_rejects_blank_name(gql):
    body = await gql(CREATE_KEY, {"n": "   ", "r": "LEARNER"}, api_key=ADMIN_KEY)
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_malformed_bearer_is_unauthenticated(gql):
    body = await gql(VIEWER, api_key=None, headers={"Authorization": "Bearer not.a.jwt"})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(VIEWER, api_key=None, headers={"Authorization": "Basic abc"})
    assert error_codes(body) == ["UNAUTHENTICATED"]
