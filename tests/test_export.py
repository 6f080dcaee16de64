"""CSV export: streamed, authenticated by header or by the signed link from exportUrl."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from learntwin_graphql.services import exports
from tests.conftest import ADMIN_KEY, learner_token
from tests.test_analytics import ingest, record

HEADER = [
    "id",
    "class_id",
    "student_id",
    "stuck",
    "got_it",
    "pause",
    "example",
    "confidence",
    "timestamp",
]
EXPORT_URL = (
    'query($from: DateTime, $to: DateTime) { class(id: "c1") { exportUrl(from: $from, to: $to) } }'
)


def rows(text):
    return list(csv.reader(io.StringIO(text)))


async def test_export_with_api_key(gql, client):
    await ingest(
        gql,
        [
            record(minutes=1, stuck=True),
            record(student_id="s2", minutes=2, confidence=9.5),
            record("c2"),
        ],
    )
    response = await client.get("/export/c1.csv", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"c1.csv\"; filename*=UTF-8''c1.csv"
    )
    table = rows(response.text)
    assert table[0] == HEADER
    assert [r[1:8] for r in table[1:]] == [
        ["c1", "s1", "1", "1", "0", "0", "7"],
        ["c1", "s2", "0", "1", "0", "0", "9.5"],
    ]
    assert table[1][8] == "2026-01-05T08:01:00.000000Z"
    same = await client.get("/export/c1", headers={"X-API-Key": ADMIN_KEY})
    assert same.text == response.text


async def test_export_range_includes_from_excludes_to(gql, client):
    await ingest(gql, [record(minutes=m) for m in (0, 10, 20, 30)])
    response = await client.get(
        "/export/c1.csv",
        params={"from": "2026-01-05T08:10:00Z", "to": "2026-01-05T08:30:00"},
        headers={"X-API-Key": ADMIN_KEY},
    )
    stamps = [r[8] for r in rows(response.text)[1:]]
    assert stamps == ["2026-01-05T08:10:00.000000Z", "2026-01-05T08:20:00.000000Z"]


async def test_export_needs_credentials(gql, client):
    await ingest(gql, [record()])
    assert (await client.get("/export/c1.csv")).status_code == 401
    assert (await client.get("/export/c1.csv", headers={"X-API-Key": "lt_bad"})).status_code == 401
    token = await learner_token(gql, "x@example.org", "s1")
    forbidden = await client.get("/export/c1.csv", headers={"Authorization": f"Bearer {token}"})
    assert forbidden.status_code == 403
    assert (
        await client.get(
            "/export/c1.csv", params={"from": "soon"}, headers={"X-API-Key": ADMIN_KEY}
        )
    ).status_code == 400


async def test_signed_link_opens_without_headers_and_only_for_its_class_and_range(
    gql, client, settings
):
    await ingest(gql, [record(minutes=m) for m in (0, 10, 20)])
    body = await gql(EXPORT_URL, {"from": "2026-01-05T08:05:00Z"})
    url = body["data"]["class"]["exportUrl"]
    assert url.startswith("http://test/export/c1.csv?")
    parts = urlsplit(url)
    response = await client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200 and len(rows(response.text)) == 3
    query = parse_qs(parts.query)
    token = query["token"][0]
    # The same token for another class or another range is refused.
    assert (
        await client.get("/export/c2.csv", params={"token": token, "from": query["from"][0]})
    ).status_code == 401
    assert (await client.get("/export/c1.csv", params={"token": token})).status_code == 401
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (
        await client.get("/export/c1.csv", params={"token": tampered, "from": query["from"][0]})
    ).status_code == 401
    claims = jwt.decode(token, settings.jwt_key, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 900
    expired = jwt.encode({**claims, "exp": claims["iat"] - 1}, settings.jwt_key, algorithm="HS256")
    assert (
        await client.get("/export/c1.csv", params={"token": expired, "from": query["from"][0]})
    ).status_code == 401


async def test_export_url_needs_staff(gql):
    token = await learner_token(gql, "y@example.org", "s1")
    body = await gql(EXPORT_URL, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


CLASS_EXPORT_URL = "query($c: ID!) { class(id: $c) { exportUrl } }"


async def export_url_of(gql, class_id, **kw):
    body = await gql(CLASS_EXPORT_URL, {"c": class_id}, **kw)
    assert "errors" not in body, body
    return body["data"]["class"]["exportUrl"]


@pytest.mark.parametrize("class_id", ["maths#1?x", "数学-1", "a/b c&d=e", "x.csv", "100%"])
async def test_export_url_leads_back_to_its_class_whatever_the_id(gql, client, class_id):
    await ingest(gql, [record(class_id), record(class_id, "s2"), record("other")])
    url = await export_url_of(gql, class_id)
    parts = urlsplit(url)
    assert "#" not in url and parts.path.count("/") == 2  # the id is one path segment
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert {r[1] for r in rows(response.text)[1:]} == {class_id}
    assert len(rows(response.text)) == 3


async def test_export_url_never_takes_the_clients_host(gql):
    await ingest(gql, [record()])
    for headers in (
        {"Host": "evil.example"},
        {"Host": "evil.example:8080", "X-Forwarded-Host": "evil.example"},
    ):
        url = await export_url_of(gql, "c1", headers=headers)
        assert "evil.example" not in url
        assert url.startswith("http://test/export/c1.csv?")


async def test_export_url_uses_the_first_allowed_host(gql, runtime, monkeypatch):
    await ingest(gql, [record()])
    monkeypatch.setattr(runtime.settings, "allowed_hosts", ["*.internal", "learn.example:8443"])
    url = await export_url_of(gql, "c1", headers={"Host": "evil.example"})
    assert url.startswith("http://learn.example:8443/export/c1.csv?")


async def test_export_url_starts_with_the_public_url_when_set(gql, runtime, monkeypatch):
    await ingest(gql, [record("数学-1")])
    monkeypatch.setattr(runtime.settings, "public_url", "https://learn.example/api/")
    url = await export_url_of(gql, "数学-1", headers={"Host": "evil.example"})
    assert url.startswith("https://learn.example/api/export/%E6%95%B0%E5%AD%A6-1.csv?")


@pytest.mark.parametrize(
    ("scope", "base"),
    [
        ({"scheme": "http", "server": ("10.0.0.5", 8000)}, "http://10.0.0.5:8000"),
        ({"scheme": "https", "server": ("api.internal", 443)}, "https://api.internal"),
        (
            {"scheme": "http", "server": ("127.0.0.1", 80), "root_path": "/lt"},
            "http://127.0.0.1/lt",
        ),
        ({"scheme": "ws", "server": ("::1", 8000)}, "http://[::1]:8000"),
        ({"scheme": "wss", "server": ("10.0.0.5", 443)}, "https://10.0.0.5"),
        ({"scheme": "http", "server": None}, "http://127.0.0.1"),
        ({"scheme": "http", "server": ("/run/learntwin.sock", None)}, "http://127.0.0.1"),
    ],
)
def test_the_servers_own_address_comes_from_the_socket_not_the_headers(scope, base):
    scope = {**scope, "headers": [(b"host", b"evil.example")]}
    assert exports.server_base_url(scope) == base
