"""Ingest and class analytics through GraphQL, against real Postgres."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from db.tables import metric_rollups, metric_rollups_daily, metrics
from tests.conftest import error_codes, learner_token

INGEST = """
mutation($records: [MetricInput!]!) {
  ingestMetrics(records: $records) { accepted duplicates rejected { index field message } }
}"""
MASTERY = """
query($id: ID!, $from: DateTime, $to: DateTime) {
  class(id: $id) { mastery(from: $from, to: $to) {
    classId population students rateStuck rateGotIt ratePause rateExample avgConfidence lastTimestamp } }
}"""
BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def record(class_id="c1", student_id="s1", minutes=0, **flags):
    return {
        "classId": class_id,
        "studentId": student_id,
        "stuck": flags.get("stuck", False),
        "gotIt": flags.get("gotIt", True),
        "pause": flags.get("pause", False),
        "example": flags.get("example", False),
        "confidence": flags.get("confidence", 7.0),
        "timestamp": (BASE + timedelta(minutes=minutes)).isoformat(),
        **({"eventId": flags["eventId"]} if "eventId" in flags else {}),
    }


async def ingest(gql, records, **kw):
    body = await gql(INGEST, {"records": records}, **kw)
    return body if "errors" in body else body["data"]["ingestMetrics"]


async def test_ingest_reports_each_bad_record_and_keeps_the_rest(gql):
    records = [
        record(),
        {**record(), "confidence": 11},
        {**record(), "classId": "  "},
        record(student_id="s2"),
    ]
    result = await ingest(gql, records)
    assert result["accepted"] == 2 and result["duplicates"] == 0
    assert [(e["index"], e["field"]) for e in result["rejected"]] == [
        (1, "confidence"),
        (2, "classId"),
    ]
    mastery = (await gql(MASTERY, {"id": "c1"}))["data"]["class"]["mastery"]
    assert mastery["population"] == 2 and mastery["students"] == 2


async def test_event_ids_make_retries_safe(gql, runtime):
    batch = [record(eventId="e1"), record(eventId="e2", minutes=1), record(eventId="e1", minutes=2)]
    first = await ingest(gql, batch)
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    again = await ingest(gql, [*batch, record(eventId="e3")])
    assert (again["accepted"], again["duplicates"]) == (1, 3)
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(metrics)) == 3
        assert await conn.scalar(select(func.sum(metric_rollups.c.n))) == 3
        assert await conn.scalar(select(func.sum(metric_rollups_daily.c.n))) == 3


async def test_future_and_naive_timestamps(gql):
    future = {**record(), "timestamp": (datetime.now(UTC) + timedelta(minutes=10)).isoformat()}
    naive = {**record(), "timestamp": "2026-01-05T09:30:00"}
    result = await ingest(gql, [future, naive])
    assert result["accepted"] == 1 and result["rejected"][0]["field"] == "timestamp"
    body = await gql('{ class(id: "c1") { metrics { edges { node { timestamp } } } } }')
    assert (
        body["data"]["class"]["metrics"]["edges"][0]["node"]["timestamp"] == "2026-01-05T09:30:00Z"
    )


async def test_too_many_records_store_nothing(gql, runtime):
    body = await gql(INGEST, {"records": [record()] * 10_001})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(metrics)) == 0


async def test_ingest_needs_staff(gql):
    assert error_codes(await gql(INGEST, {"records": [record()]}, api_key=None)) == [
        "UNAUTHENTICATED"
    ]
    token = await learner_token(gql, "l@example.org", "s1")
    assert error_codes(await gql(INGEST, {"records": [record()]}, token=token)) == ["FORBIDDEN"]
    key = await gql('mutation { createApiKey(name: "t", role: INSTRUCTOR) { key } }')
    result = await ingest(gql, [record()], api_key=key["data"]["createApiKey"]["key"])
    assert result["accepted"] == 1


async def test_mastery_matches_the_raw_records_for_any_range(gql):
    rng = random.Random(3)
    records = []
    for _ in range(600):
        records.append(
            record(
                class_id=rng.choice(["c1", "c2"]),
                student_id=f"s{rng.randint(1, 12)}",
                minutes=rng.randint(0, 60 * 72),
                stuck=rng.random() < 0.3,
                gotIt=rng.random() < 0.6,
                pause=rng.random() < 0.2,
                example=rng.random() < 0.4,
                confidence=round(rng.uniform(1, 10), 2),
            )
        )
    for start in range(0, 600, 200):  # several ingests, so rollups are updated in place
        await ingest(gql, records[start : start + 200])

    def expected(lo, hi):
        rows = [
            r
            for r in records
            if r["classId"] == "c1"
            and (lo is None or datetime.fromisoformat(r["timestamp"]) >= lo)
            and (hi is None or datetime.fromisoformat(r["timestamp"]) < hi)
        ]
        n = len(rows)
        return (
            n,
            len({r["studentId"] for r in rows}),
            sum(r["stuck"] for r in rows),
            sum(r["confidence"] for r in rows),
        )

    ranges = [
        (None, None),
        (BASE + timedelta(minutes=17), None),
        (None, BASE + timedelta(hours=9, minutes=41)),
    ]
    for _ in range(20):
        a, b = sorted(rng.sample(range(0, 60 * 74), 2))
        ranges.append(
            (BASE + timedelta(minutes=a, seconds=rng.randint(0, 59)), BASE + timedelta(minutes=b))
        )
    ranges.append((BASE + timedelta(hours=3, minutes=5), BASE + timedelta(hours=3, minutes=40)))
    # Whole days in the middle, partial hours at both ends: every rollup level at once.
    ranges.append(
        (BASE + timedelta(hours=5, minutes=13), BASE + timedelta(days=2, hours=7, minutes=2))
    )
    for lo, hi in ranges:
        variables = {
            "id": "c1",
            "from": lo.isoformat() if lo else None,
            "to": hi.isoformat() if hi else None,
        }
        got = (await gql(MASTERY, variables))["data"]["class"]["mastery"]
        n, students, stuck, confidence = expected(lo, hi)
        assert got["population"] == n, (lo, hi)
        assert got["students"] == students, (lo, hi)
        if n:
            assert got["rateStuck"] == pytest.approx(stuck / n)
            assert got["avgConfidence"] == pytest.approx(confidence / n)
        else:
            assert (
                got["rateStuck"] is None
                and got["avgConfidence"] is None
                and got["lastTimestamp"] is None
            )


async def test_unknown_class_and_student_are_null(gql):
    body = await gql('{ class(id: "nope") { id } student(id: "nope") { id } }')
    assert body["data"] == {"class": None, "student": None}


async def test_bad_ranges_and_page_sizes(gql):
    await ingest(gql, [record()])
    body = await gql(
        MASTERY, {"id": "c1", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert error_codes(await gql("{ classes(first: 501) { edges { cursor } } }")) == [
        "BAD_USER_INPUT"
    ]
    assert error_codes(await gql('{ classes(after: "!!") { edges { cursor } } }')) == [
        "BAD_USER_INPUT"
    ]
    body = await gql('{ class(id: "c1") { metrics(first: -1) { edges { cursor } } } }')
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def _all_pages(gql, query, path):
    seen, after = [], None
    while True:
        body = await gql(query, {"after": after})
        node = body["data"]
        for key in path:
            node = node[key]
        seen.extend(edge["node"]["id"] for edge in node["edges"])
        if not node["pageInfo"]["hasNextPage"]:
            return seen
        after = node["pageInfo"]["endCursor"]


async def test_keyset_pages_are_complete_and_stable_while_data_arrives(gql):
    await ingest(gql, [record(student_id=f"s{i:02d}", minutes=i) for i in range(25)])
    query = 'query($after: String) { class(id: "c1") { metrics(first: 7, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }'
    first_page = await gql(query, {"after": None})
    cursor = first_page["data"]["class"]["metrics"]["pageInfo"]["endCursor"]
    seen = [edge["node"]["id"] for edge in first_page["data"]["class"]["metrics"]["edges"]]
    # Records arriving between pages (older and newer) never shift or repeat what follows.
    await ingest(
        gql, [record(student_id="late", minutes=-5), record(student_id="late", minutes=999)]
    )
    while cursor:
        page = (await gql(query, {"after": cursor}))["data"]["class"]["metrics"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(seen) == len(set(seen)) == 26  # the 25 and the newer late one
    students = await _all_pages(
        gql,
        'query($after: String) { class(id: "c1") { students(first: 4, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }',
        ["class", "students"],
    )
    assert students == sorted({f"s{i:02d}" for i in range(25)} | {"late"})


async def test_students_in_several_classes(gql):
    await ingest(gql, [record("c1", "s1"), record("c2", "s1", confidence=3.0), record("c2", "s2")])
    body = await gql(
        '{ student(id: "s1") { classes { id studentCount } mastery { studentId population avgConfidence } } }'
    )
    student = body["data"]["student"]
    assert [c["id"] for c in student["classes"]] == ["c1", "c2"]
    assert [c["studentCount"] for c in student["classes"]] == [1, 2]
    assert student["mastery"] == {"studentId": "s1", "population": 2, "avgConfidence": 5.0}


async def test_learner_sees_only_their_student(gql):
    await ingest(gql, [record("c1", "s1"), record("c1", "s2")])
    token = await learner_token(gql, "m@example.org", "s1")
    own = await gql(
        '{ student(id: "s1") { id mastery { population } metrics { edges { node { studentId } } } } }',
        token=token,
    )
    assert own["data"]["student"]["mastery"]["population"] == 1
    assert error_codes(await gql('{ student(id: "s2") { id } }', token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql('{ class(id: "c1") { id } }', token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql("{ classes { edges { cursor } } }", token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql('{ student(id: "s1") { classes { id } } }', token=token)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql('{ class(id: "c1") { id } }', api_key=None)) == ["UNAUTHENTICATED"]


NESTED = """
{ classes(first: 50) { edges { node { id studentCount
    students(first: 30) { edges { node { id
      mastery { population avgConfidence }
      metrics(first: 10) { edges { node { id confidence } } } } } } } } } }
"""


async def _statements_for(gql, runtime, query):
    count = 0

    def on_execute(*_args):
        nonlocal count
        count += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        body = await gql(query)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", on_execute)
    assert "errors" not in body, body
    return count, body


async def test_nested_query_costs_a_constant_number_of_statements(gql, runtime):
    await ingest(gql, [record(f"c{c}", f"s{c}-{s}", minutes=s) for c in range(3) for s in range(5)])
    small, _ = await _statements_for(gql, runtime, NESTED)
    await ingest(
        gql,
        [
            record(f"c{c}", f"s{c}-{s}", minutes=m)
            for c in range(12)
            for s in range(20)
            for m in range(2)
        ],
    )
    large, body = await _statements_for(gql, runtime, NESTED)
    edges = body["data"]["classes"]["edges"]
    assert len(edges) == 12 and sum(len(e["node"]["students"]["edges"]) for e in edges) == 12 * 20
    assert large == small <= 8


async def test_depth_above_twelve_is_refused(gql):
    inner = "id"
    for _ in range(7):
        inner = f"students(first: 1) {{ edges {{ node {{ classes {{ {inner} }} }} }} }}"
    body = await gql(f'{{ class(id: "c1") {{ {inner} }} }}')
    assert error_codes(body) == ["BAD_USER_INPUT"]
