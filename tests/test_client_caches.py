"""What real clients (Relay, Apollo's normalizing InMemoryCache, generated types) rely on:
complete PageInfo in both directions, a stable id on Mastery shared by query and
subscription, and Task.input in camelCase like the rest of the schema."""

from __future__ import annotations

import uuid
from typing import Any

from learntwin_graphql.api.tasks import camel_keys
from learntwin_graphql.pagination import build_backward_connection, build_connection
from tests.conftest import ADMIN_KEY, GraphQLClient, learner_token, ws_client, ws_connect
from tests.test_analytics import ingest, record
from tests.test_live import receive

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
CLASSES = f"query($f: Int!, $a: String) {{ classes(first: $f, after: $a) {{ edges {{ cursor node {{ id }} }} {PAGE_INFO} }} }}"
STUDENTS = (
    'query($f: Int!, $a: String) { class(id: "c1") { students(first: $f, after: $a) {'
    f" edges {{ cursor node {{ id }} }} {PAGE_INFO} }} }} }}"
)
METRICS = (
    'query($f: Int!, $a: String) { student(id: "s1") { metrics(first: $f, after: $a) {'
    f" edges {{ cursor node {{ id }} }} {PAGE_INFO} }} }} }}"
)
MASTERY = (
    "query($c: ID!, $from: DateTime, $to: DateTime) { class(id: $c) {"
    " mastery(from: $from, to: $to) { id classId population } } }"
)
STUDENT_MASTERY = 'query { student(id: "s1") { mastery { id studentId classId } } }'
SUBSCRIBE = "subscription($c: ID!) { classMastery(classId: $c) { id classId population } }"
GENERATE = "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id input } }"
TASK_INPUT = "query($id: ID!) { task(id: $id) { input } }"
START = "mutation($i: StartChatSessionInput!) { startChatSession(input: $i) { id } }"
SEND = (
    "mutation($i: SendTutorMessageInput!) { sendTutorMessage(input: $i) {"
    " userMessage { id } reply { id } } }"
)
MESSAGES = (
    "query($s: ID!, $f: Int, $a: String, $l: Int, $b: String) { chatSession(id: $s) {"
    " messages(first: $f, after: $a, last: $l, before: $b) {"
    f" edges {{ cursor node {{ id }} }} {PAGE_INFO} }} }} }}"
)


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def check_cursors(connection: dict[str, Any]) -> None:
    """startCursor and endCursor are the first and last edge's, null on an empty page."""
    edges, info = connection["edges"], connection["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)


async def walk(gql: GraphQLClient, query: str, pick: Any, first: int) -> list[dict[str, Any]]:
    """Every page of a forward connection, one past the last (empty) page included."""
    pages, after = [], None
    while True:
        page = pick(data(await gql(query, {"f": first, "a": after})))
        check_cursors(page)
        pages.append(page)
        if not page["edges"]:
            return pages
        after = page["pageInfo"]["endCursor"]


# --- PageInfo --------------------------------------------------------------------------


def test_build_connection_fills_every_page_info_field():
    rows = list(range(4))
    first = build_connection(rows, 3, key=lambda r: (r,), node=lambda r: r)
    assert first.page_info.has_next_page and not first.page_info.has_previous_page
    assert first.page_info.start_cursor == first.edges[0].cursor
    assert first.page_info.end_cursor == first.edges[-1].cursor
    later = build_connection(rows[3:], 3, key=lambda r: (r,), node=lambda r: r, after="x")
    assert later.page_info.has_previous_page and not later.page_info.has_next_page
    empty = build_connection([], 3, key=lambda r: (r,), node=lambda r: r, after="x")
    assert empty.page_info.start_cursor is None and empty.page_info.end_cursor is None
    assert empty.page_info.has_previous_page


def test_build_backward_connection_pages_from_the_newest():
    newest_first = [5, 4, 3, 2]  # last=3 and one extra: older rows remain
    page = build_backward_connection(newest_first, 3, key=lambda r: (r,), node=lambda r: r)
    assert [edge.node for edge in page.edges] == [3, 4, 5]
    assert page.page_info.has_previous_page and not page.page_info.has_next_page
    assert page.page_info.start_cursor == page.edges[0].cursor
    oldest = build_backward_connection([1, 0], 3, key=lambda r: (r,), node=lambda r: r, before="c")
    assert [edge.node for edge in oldest.edges] == [0, 1]
    assert oldest.page_info.has_next_page and not oldest.page_info.has_previous_page


async def test_forward_pages_say_what_precedes_and_follows(gql: GraphQLClient):
    await ingest(
        gql,
        [record(class_id, f"s{n}", minutes=n) for n in range(1, 6) for class_id in ("c1", "c2")]
        + [record("c3", "s1", minutes=9)],
    )
    for query, pick, first, total in (
        (CLASSES, lambda d: d["classes"], 2, 3),
        (STUDENTS, lambda d: d["class"]["students"], 2, 5),
        (METRICS, lambda d: d["student"]["metrics"], 2, 3),
    ):
        pages = await walk(gql, query, pick, first)
        assert sum(len(p["edges"]) for p in pages) == total
        infos = [p["pageInfo"] for p in pages]
        # Only the first page was asked for without `after`.
        assert [i["hasPreviousPage"] for i in infos] == [False] + [True] * (len(pages) - 1)
        # More follow every full page but the last one holding items.
        assert [i["hasNextPage"] for i in infos[:-2]] == [True] * (len(pages) - 2)
        assert infos[-2]["hasNextPage"] is False and infos[-1]["hasNextPage"] is False


async def test_chat_messages_page_info_both_ways(gql: GraphQLClient):
    token = await learner_token(gql, "cache@example.org", "s-cache")
    session = data(await gql(START, {"i": {"studentId": "s-cache"}}, token=token))
    session_id = session["startChatSession"]["id"]
    for n in range(3):  # a learner message and a reply each: 6 messages
        variables = {
            "i": {
                "sessionId": session_id,
                "content": f"question {n}",
                "clientMessageId": uuid.uuid4().hex,
            }
        }
        data(await gql(SEND, variables, token=token))

    async def page(**args: Any) -> dict[str, Any]:
        variables = {"s": session_id} | {k[0]: v for k, v in args.items()}
        found = data(await gql(MESSAGES, variables, token=token))["chatSession"]["messages"]
        check_cursors(found)
        return found

    newest = await page(last=4)
    assert len(newest["edges"]) == 4
    assert newest["pageInfo"]["hasPreviousPage"] is True  # two older messages remain
    assert newest["pageInfo"]["hasNextPage"] is False  # no `before`: nothing newer
    older = await page(last=4, before=newest["pageInfo"]["startCursor"])
    assert len(older["edges"]) == 2
    assert older["pageInfo"]["hasPreviousPage"] is False
    assert older["pageInfo"]["hasNextPage"] is True  # the page asked for before a cursor
    everything = await page(last=10)
    assert len(everything["edges"]) == 6 and everything["pageInfo"]["hasPreviousPage"] is False
    assert [e["cursor"] for e in older["edges"] + newest["edges"]] == [
        e["cursor"] for e in everything["edges"]
    ]

    start = await page(first=4)
    assert start["pageInfo"]["hasPreviousPage"] is False
    assert start["pageInfo"]["hasNextPage"] is True
    rest = await page(first=4, after=start["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == 2
    assert rest["pageInfo"]["hasPreviousPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False


# --- Mastery.id ------------------------------------------------------------------------


async def mastery(gql: GraphQLClient, class_id: str, **window: str) -> dict[str, Any]:
    body = await gql(MASTERY, {"c": class_id, **window})
    return data(body)["class"]["mastery"]


async def test_mastery_id_is_stable_per_class_and_range(gql: GraphQLClient):
    await ingest(gql, [record("c1"), record("c2"), record("maths:1")])
    whole = await mastery(gql, "c1")
    assert whole["id"] and whole["id"] == (await mastery(gql, "c1"))["id"]
    assert (await mastery(gql, "c2"))["id"] != whole["id"]
    window = {"from": "2026-01-05T08:00:00Z", "to": "2026-01-06T00:00:00Z"}
    ranged = await mastery(gql, "c1", **window)
    assert ranged["id"] not in (whole["id"], (await mastery(gql, "c2", **window))["id"])
    # The same instant written with another offset is the same range.
    same = await mastery(gql, "c1", **{"from": "2026-01-05T09:00:00+01:00", "to": window["to"]})
    assert same["id"] == ranged["id"]
    assert (await mastery(gql, "c1", **{"from": window["from"]}))["id"] != ranged["id"]
    # Ids with separators in them cannot collide with another class and range.
    assert (await mastery(gql, "maths:1"))["id"] != whole["id"]
    # A student's mastery is another object than any class's.
    student = data(await gql(STUDENT_MASTERY))["student"]["mastery"]
    assert student["studentId"] == "s1" and student["classId"] is None
    assert student["id"] not in (whole["id"], ranged["id"])


async def test_subscription_pushes_the_mastery_the_query_returned(app, gql: GraphQLClient):
    await ingest(gql, [record("c1", minutes=1)])
    queried = await mastery(gql, "c1")
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        assert (await receive(ws))["type"] == "connection_ack"
        subscribe = {"query": SUBSCRIBE, "variables": {"c": "c1"}}
        await ws.send_json({"id": "m", "type": "subscribe", "payload": subscribe})
        first = (await receive(ws))["payload"]["data"]["classMastery"]
        assert first == queried
        await ingest(gql, [record("c1", "s2", minutes=2)])
        update = (await receive(ws))["payload"]["data"]["classMastery"]
        # The same object, so a normalizing cache updates `class { mastery }` in place.
        assert update["id"] == queried["id"] and update["population"] == 2
        assert (await mastery(gql, "c1")) == update
        await ws.send_json({"id": "m", "type": "complete"})


# --- Task.input ------------------------------------------------------------------------


def test_camel_keys_converts_every_level():
    given = {
        "student_id": "s1",
        "count": 3,
        "nested_part": {"question_count": 2, "items": [{"skill_id": "x", "a_b_c": None}]},
        "tags": ["keep_values_as_they_are"],
    }
    assert camel_keys(given) == {
        "studentId": "s1",
        "count": 3,
        "nestedPart": {"questionCount": 2, "items": [{"skillId": "x", "aBC": None}]},
        "tags": ["keep_values_as_they_are"],
    }


async def test_task_input_is_camel_case(gql: GraphQLClient):
    variables = {"i": {"topic": "fractions", "questionCount": 3, "studentId": "s-quiz"}}
    task = data(await gql(GENERATE, variables))["generateQuiz"]
    expected = {
        "topic": "fractions",
        "count": 3,
        "difficulty": "INTERMEDIATE",
        "studentId": "s-quiz",
    }
    assert task["input"] == expected
    assert data(await gql(TASK_INPUT, {"id": task["id"]}))["task"]["input"] == expected
