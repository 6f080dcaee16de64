"""Bad input is the client's error, named, and never costs the valid data beside it."""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import quote, urlsplit

import orjson
import pytest

from tests.conftest import ADMIN_KEY, error_codes
from tests.test_analytics import INGEST, ingest, record

MASTERY = 'query($f: DateTime, $t: DateTime) { class(id: "c1") { mastery(from: $f, to: $t) { population } } }'
BAD_DATES = [
    "",
    "now",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "0001-01-01T00:00:00+14:00",  # before year 1 once in UTC
    "9999-12-31T23:59:59-14:00",  # after year 9999 once in UTC
    "12:00",
    "2026-11-01T25:00:00Z",
]


def cursor(value: object) -> str:
    # The stdlib encoder: orjson refuses integers beyond 64 bits, which a forger need not.
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("value", BAD_DATES)
async def test_a_date_time_that_does_not_parse_is_named(gql, value):
    await ingest(gql, [record("c1")])
    for variables in ({"f": value}, {"t": value}):
        body = await gql(MASTERY, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == next(
            {"f": "from", "t": "to"}[k] for k in variables
        )
    literal = f'{{ class(id: "c1") {{ metrics(from: {orjson.dumps(value).decode()}) {{ edges {{ cursor }} }} }} }}'
    body = await gql(literal)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "from"


async def test_date_times_at_the_edges_of_the_calendar_answer_correctly(gql):
    await ingest(gql, [record("c1")])
    late = {"f": "9999-12-31T23:30:00Z"}
    assert (await gql(MASTERY, late))["data"]["class"]["mastery"]["population"] == 0
    early = {"f": "0001-01-01T00:00:00Z", "t": "9999-12-31T23:59:59Z"}
    assert (await gql(MASTERY, early))["data"]["class"]["mastery"]["population"] == 1
    wide = '{ class(id: "c1") { recommendations(from: "0001-01-01T00:30:00Z") { action } exportUrl(to: "9999-12-31T23:59:00Z") } }'
    assert "errors" not in await gql(wide)


async def test_one_bad_timestamp_costs_only_its_record(gql, client):
    good = [record("c1", f"s{n}") for n in range(5)]
    bad = ["now", "2026-13-01T00:00:00Z", "1969-12-31T23:59:59Z", "2101-01-01T00:00:00Z"]
    bad += ["0001-01-01T00:00:00+14:00", 5]
    records = [*good]
    for value in bad:
        records.insert(2, {**record("c1", "s-bad"), "timestamp": value})
    body = await gql(INGEST, {"records": records})
    assert "errors" not in body, body
    payload = body["data"]["ingestMetrics"]
    assert payload["accepted"] == 5
    assert [(e["index"], e["field"]) for e in payload["rejected"]] == [
        (index, "timestamp") for index in range(2, 2 + len(bad))
    ]
    # The seed's REST route refuses the same records by index, and keeps the rest.
    rest = [{**r, "class_id": r.pop("classId"), "student_id": r.pop("studentId")} for r in records]
    for r in rest:
        r["got_it"] = r.pop("gotIt")
    response = await client.post("/ingest/json", json=rest, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["rows_ok"] == 5
    assert [e["index"] for e in answer["errors"]] == list(range(2, 2 + len(bad)))


async def test_nul_characters_are_refused_by_name(gql):
    await ingest(gql, [record("c1", "s1")])
    for query, variables, field in [
        ("query($i: ID!) { class(id: $i) { id } }", {"i": "c\x001"}, "id"),
        ("query($i: ID!) { student(id: $i) { id } }", {"i": "\x00"}, "id"),
        (
            "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id } }",
            {"i": {"topic": "sql\x00"}},
            "input.topic",
        ),
        (
            "mutation($n: String!) { createApiKey(name: $n, role: INSTRUCTOR) { key } }",
            {"n": "a\x00b"},
            "name",
        ),
    ]:
        body = await gql(query, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field


async def test_nul_in_an_ingest_record_costs_only_that_record(gql):
    records = [record("c1", "s1"), record("c\x001", "s2"), record("c1", "s\r\n3"), record("c1")]
    payload = (await gql(INGEST, {"records": records}))["data"]["ingestMetrics"]
    assert payload["accepted"] == 2
    assert [(e["index"], e["field"]) for e in payload["rejected"]] == [
        (1, "classId"),
        (2, "studentId"),
    ]


@pytest.mark.parametrize(
    "after",
    [
        "%%%",
        "not base64 at all",
        "数学",
        cursor([]),
        cursor({}),
        cursor([None]),
        cursor(["x", "y", "z"]),
        cursor([1e308]),
        cursor(["2026-01-01T00:00:00Z", 2**70]),
        cursor(["2026-01-01T00:00:00Z", -1]),
        cursor(["2026-13-01T00:00:00Z", 1]),
        cursor([5, 1]),
        cursor(["a\x00b"]),
        cursor([True]),
    ],
)
async def test_forged_cursors_are_bad_user_input(gql, after):
    await ingest(gql, [record("c1", "s1")])
    for query in (
        "query($a: String) { classes(after: $a) { edges { cursor } } }",
        'query($a: String) { class(id: "c1") { students(after: $a) { edges { cursor } } } }',
        'query($a: String) { class(id: "c1") { metrics(after: $a) { edges { cursor } } } }',
        'query($a: String) { student(id: "s1") { metrics(after: $a) { edges { cursor } } } }',
    ):
        body = await gql(query, {"a": after})
        codes = error_codes(body)
        # A cursor of the right shape for another list may be a valid position here.
        assert codes in ([], ["BAD_USER_INPUT"]), (query, after, body)
        if codes:
            assert body["errors"][0]["extensions"]["field"] == "after"


async def test_a_metrics_cursor_round_trips(gql):
    await ingest(gql, [record("c1", "s1", minutes=m) for m in range(3)])
    query = 'query($a: String) { class(id: "c1") { metrics(first: 1, after: $a) { edges { cursor } } } }'
    first = (await gql(query))["data"]["class"]["metrics"]["edges"][0]["cursor"]
    second = await gql(query, {"a": first})
    assert len(second["data"]["class"]["metrics"]["edges"]) == 1


@pytest.mark.parametrize("body", [b'"x"', b"null", b"123", b"true", b"[]", b"{", b""])
async def test_a_body_that_is_not_an_object_is_a_json_400(client, body):
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        '{ class(id: "x") { ...Nope } }',
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ viewer { role } } fragment Unused on Query { viewer { role } }",
        "{ class }",
        "{ viewer { role(x: 1) } }",
        "query($v: Int) { viewer { role } }",
        "{ class(id: true) { id } }",
        "subscription { classMastery }",
        "{ __typename",
    ],
)
async def test_every_validation_error_has_a_code(gql, query):
    body = await gql(query)
    assert body["errors"], body
    assert set(error_codes(body)) == {"BAD_USER_INPUT"}, body


@pytest.mark.parametrize(
    ("class_id", "status"),
    [
        ("a\x00b", 400),
        ("a\r\nb", 404),
        ("😀", 200),
        ("数学-1", 200),
        ("maths#1?x", 200),
        ("a/b", 200),
        ("x" * 2000, 400),
    ],
)
async def test_rest_routes_with_odd_class_ids(client, class_id, status):
    headers = {"X-API-Key": ADMIN_KEY}
    for route in ("/mastery/{}", "/recommend/{}", "/export/{}.csv"):
        response = await client.get(route.format(quote(class_id, safe="")), headers=headers)
        assert response.status_code == status, (route, response.text)
        assert response.headers["content-type"].startswith(
            "text/csv" if status == 200 and "export" in route else "application/json"
        )


async def test_csv_file_names_and_export_links_survive_any_class_id(gql, client):
    for class_id in ("数学-1", "maths#1?x", "a/b", 'say "hi"'):
        await ingest(gql, [record(class_id, "s1")])
        body = await gql("query($i: ID!) { class(id: $i) { exportUrl } }", {"i": class_id})
        link = urlsplit(body["data"]["class"]["exportUrl"])
        response = await client.get(f"{link.path}?{link.query}")
        assert response.status_code == 200, (class_id, response.text)
        assert next(csv.DictReader(io.StringIO(response.text)))["class_id"] == class_id
        disposition = response.headers["content-disposition"]
        assert disposition.isascii() and "\r" not in disposition and "\n" not in disposition
        assert disposition.endswith("filename*=UTF-8''" + quote(f"{class_id}.csv", safe=""))
