"""The GraphQL endpoint over HTTP: transport, limits, error codes, production mode, CORS."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.view import GraphQLView
from tests.conftest import ADMIN_KEY, GraphQLClient, error_codes, make_settings


async def test_query_via_get(client):
    response = await client.get(
        "/graphql", params={"query": "{ viewer { role } }"}, headers={"X-API-Key": ADMIN_KEY}
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


async def test_mutation_via_get_is_refused(client):
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createApiKey(name: "x", role: ADMIN) { key } }'},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert response.status_code in (400, 405)


async def test_graphiql_starts_with_headers_its_subscriptions_use_too(client, runtime):
    """The headers editor starts with the development key (never a configured one), and
    the WebSocket's connection_init gets the headers the queries get."""
    from learntwin_graphql.config import DEV_API_KEY
    from learntwin_graphql.graphiql import example_headers

    page = (await client.get("/graphql", headers={"Accept": "text/html"})).text
    assert "wsConnectionParams" in page and "EXAMPLE_HEADERS" in page
    shown = example_headers(runtime.settings)
    key = runtime.settings.admin_api_key
    assert ("X-API-Key" in shown) and ((DEV_API_KEY in shown) == (key == DEV_API_KEY))
    if key != DEV_API_KEY:
        assert key not in page


async def test_graphiql_in_development(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


async def test_syntax_and_validation_errors_are_bad_user_input(gql):
    assert error_codes(await gql("{ viewer { role }")) == ["BAD_USER_INPUT"]
    assert error_codes(await gql("{ viewer { nope } }")) == ["BAD_USER_INPUT"]
    body = await gql("query($r: Role!) { viewer { role } }", {"r": "KING"})
    assert error_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("body", [b"{not json", b'{"query": "{ viewer { role } }", "x": NaN}', b""])
async def test_a_body_that_is_not_json_is_a_400(client, body):
    response = await client.post(
        "/graphql",
        content=body,
        headers={"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and "JSON" in response.text


def test_answers_with_integers_beyond_64_bits_are_still_json():
    encoded = GraphQLView.encode_json(None, {"data": {"n": 2**70, "s": "é"}})  # type: ignore[arg-type]
    assert isinstance(encoded, str) and json.loads(encoded) == {"data": {"n": 2**70, "s": "é"}}


async def test_request_id_is_echoed(client):
    response = await client.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"X-Request-ID": "abc-123"}
    )
    assert response.headers["x-request-id"] == "abc-123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32


async def test_alias_and_token_limits(gql):
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(31))
    assert error_codes(await gql(f"{{ {aliases} }}")) == ["BAD_USER_INPUT"]
    fields = " ".join(["role"] * 2100)
    assert "BAD_USER_INPUT" in error_codes(await gql(f"{{ viewer {{ {fields} }} }}"))
    allowed = " ".join(f"a{i}: viewer {{ role }}" for i in range(30))
    assert "errors" not in await gql(f"{{ {allowed} }}")


async def test_depth_limit_is_wired_to_settings(services):
    settings = make_settings(services, LEARNTWIN_MAX_QUERY_DEPTH="1")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            gql = GraphQLClient(http)
            assert "errors" not in await gql("{ viewer { role } }")
            body = await gql("{ viewer { user { id } } }")
            assert error_codes(body) == ["BAD_USER_INPUT"]
            assert "depth" in body["errors"][0]["message"]


async def test_unexpected_errors_are_masked_and_logged(services, caplog):
    # A database that is not there: the resolver fails in a way no client can fix.
    settings = make_settings(services, DATABASE_URL="postgresql://postgres@127.0.0.1:9/none")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            with caplog.at_level(logging.ERROR, logger="learntwin.errors"):
                response = await http.post(
                    "/graphql",
                    json={
                        "query": 'mutation { login(email: "a@b.cd", password: "0123456789") { token } }'
                    },
                )
    body = response.json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["message"] == "Unexpected error."
    assert "9" not in error["message"] and "refused" not in str(body).lower()
    request_id = response.headers["x-request-id"]
    assert error["extensions"]["requestId"] == request_id
    assert any(request_id in record.getMessage() for record in caplog.records)


@pytest.fixture
async def production_client(services):
    settings = make_settings(services, LEARNTWIN_ENV="production", JWT_SECRET="p" * 40)
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_production_hides_graphiql_and_introspection(production_client):
    page = await production_client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    gql = GraphQLClient(production_client)
    body = await gql("{ __schema { queryType { name } } }")
    assert body["errors"] and set(error_codes(body)) == {"BAD_USER_INPUT"}
    assert "Did you mean" not in str(await gql("{ viewer { rol } }"))
    assert (await gql("{ viewer { role } }"))["data"]["viewer"]["role"] == "ADMIN"


async def test_cors_allows_only_configured_origins(client):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key",
    }
    allowed = await client.options(
        "/graphql", headers={"Origin": "http://allowed.example", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://allowed.example"
    denied = await client.options(
        "/graphql", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers
