"""A learner's recommendations through the API, against real Postgres and Redis: the
next lesson of the path (or of an enrolment), breaks from class metrics, difficulty
advice, answering once, suppression after a skip, filters and pages, the push, and who
may see and answer what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from tests.conftest import ADMIN_KEY, error_codes, learner_token, ws_client, ws_connect
from tests.test_goals import RECOMPUTE, create_goal, master_basics, ok, receive, refused_codes
from tests.test_goals import subscribe as open_subscription
from tests.test_progress import ACTIVITY, ENROLL, activity, course
from tests.test_skills import SUBMIT, answers, quiz_on

REC = """id studentId kind status reason evidence priority confidence createdAt expiresAt
  respondedAt responseNote lesson { id } skill { id }
  difficulty { current suggested recentAccuracy answersConsidered targetAccuracy reason }"""
RECS = f"""query($s: ID!, $status: RecommendationStatus, $kind: RecommendationKind, $first: Int!,
  $after: String) {{ student(id: $s) {{ recommendations(status: $status, kind: $kind,
  first: $first, after: $after) {{ edges {{ cursor node {{ {REC} }} }}
  pageInfo {{ hasNextPage endCursor }} }} }} }}"""
DEFAULT_RECS = (
    f"query($s: ID!) {{ student(id: $s) {{ recommendations {{ edges {{ node {{ {REC} }} }} }} }} }}"
)
ONE = f"query($id: ID!) {{ recommendation(id: $id) {{ {REC} }} }}"
RESPOND = f"""mutation($i: RespondToRecommendationInput!) {{ respondToRecommendation(input: $i) {{
  {REC} }} }}"""
INGEST = "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted rejected { index field } } }"


async def recs(
    gql: Any,
    student: str,
    status: str | None = "OPEN",
    kind: str | None = None,
    first: int = 20,
    after: str | None = None,
    **auth: Any,
) -> dict[str, Any]:
    variables = {"s": student, "status": status, "kind": kind, "first": first, "after": after}
    return (await ok(gql, RECS, variables, **auth))["student"]["recommendations"]


def nodes(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in page["edges"]]


_TOKENS: dict[tuple[int, str], str] = {}


async def respond(gql: Any, rec_id: str, response: str, note: str | None = None, **auth: Any):
    """Answer as the recommendation's own learner (only the learner answers), unless
    credentials are given."""
    if not auth:
        found = (await gql(ONE, {"id": rec_id}))["data"]["recommendation"]
        if found is not None:
            student = found["studentId"]
            key = (id(gql), student)
            if key not in _TOKENS:
                _TOKENS[key] = await learner_token(gql, f"{student}@example.org", student)
            auth = {"token": _TOKENS[key]}
    return await gql(RESPOND, {"i": {"id": rec_id, "response": response, "note": note}}, **auth)


def metrics(student: str, pauses: int, total: int, class_id: str = "c-break") -> list[Any]:
    """`total` class check-ins of the last hours, the first `pauses` of them a pause."""
    now = datetime.now(UTC)
    return [
        {
            "classId": class_id,
            "studentId": student,
            "stuck": False,
            "gotIt": False,
            "pause": n < pauses,
            "example": False,
            "confidence": 5,
            "timestamp": (now - timedelta(minutes=10 + n)).isoformat(),
        }
        for n in range(total)
    ]


async def ingest(gql: Any, records: list[Any]) -> None:
    body = await ok(gql, INGEST, {"r": records})
    assert body["ingestMetrics"]["accepted"] == len(records), body


# --- NEXT_LESSON --------------------------------------------------------------------


async def test_the_next_lesson_is_the_first_pending_step_of_the_path(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-next"})
    goal = await create_goal(gql, "s-next", ["advanced"])
    open_now = nodes(await recs(gql, "s-next"))
    assert [(r["kind"], r["lesson"]) for r in open_now] == [("NEXT_LESSON", {"id": c["a1"]})]
    first = open_now[0]
    assert first["status"] == "OPEN" and first["studentId"] == "s-next"
    assert first["evidence"]["source"] == "PATH" and first["evidence"]["goalId"] == goal["id"]
    assert first["evidence"]["position"] == 1 and first["evidence"]["skills"] == ["Basics"]
    assert "step 1" in first["reason"] and "a1" in first["reason"]
    assert first["priority"] == "MEDIUM" and 0 < first["confidence"] <= 1
    assert first["expiresAt"] > first["createdAt"] and first["respondedAt"] is None
    created = datetime.fromisoformat(first["createdAt"])
    expires = datetime.fromisoformat(first["expiresAt"])
    assert abs((expires - created) - timedelta(days=7)) < timedelta(seconds=5)
    # the default is OPEN, and the same as asked for explicitly
    default = await ok(gql, DEFAULT_RECS, {"s": "s-next"})
    assert [e["node"]["id"] for e in default["student"]["recommendations"]["edges"]] == [
        first["id"]
    ]
    # a recompute that changes nothing keeps the same recommendation
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    assert [r["id"] for r in nodes(await recs(gql, "s-next"))] == [first["id"]]
    # a1 mastered: the path's next step is b1; the old one is superseded, one OPEN NEXT_LESSON
    await master_basics(gql, c, "s-next")
    await jobs.run()
    open_now = nodes(await recs(gql, "s-next", kind="NEXT_LESSON"))
    assert [r["lesson"] for r in open_now] == [{"id": c["b1"]}]
    assert open_now[0]["evidence"]["position"] == 1 and open_now[0]["id"] != first["id"]
    old = (await ok(gql, ONE, {"id": first["id"]}))["recommendation"]
    assert old["status"] == "SUPERSEDED"


async def test_without_a_goal_the_next_lesson_comes_from_the_enrolment(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-enr"})
    # a scored activity (a mastery change) that does not complete a1
    await ok(gql, ACTIVITY, activity(c["a1"], "s-enr", "e1", score=40))
    assert await jobs.run() == 1
    found = nodes(await recs(gql, "s-enr", kind="NEXT_LESSON"))
    assert len(found) == 1
    rec = found[0]
    assert rec["lesson"] == {"id": c["a1"]}
    assert rec["evidence"]["source"] == "ENROLLMENT" and rec["evidence"]["courseId"] == c["id"]
    assert (rec["evidence"]["completed"], rec["evidence"]["total"]) == (0, 3)
    assert "lesson 1 of 3" in rec["reason"] and "0 completed" in rec["reason"]
    # a1 completed with 90: a2 opens and becomes the next one
    await ok(gql, ACTIVITY, activity(c["a1"], "s-enr", "e2", score=90))
    await jobs.run()
    found = nodes(await recs(gql, "s-enr", kind="NEXT_LESSON"))
    assert [r["lesson"] for r in found] == [{"id": c["a2"]}]
    assert "lesson 2 of 3" in found[0]["reason"] and "1 completed" in found[0]["reason"]
    assert (await ok(gql, ONE, {"id": rec["id"]}))["recommendation"]["status"] == "SUPERSEDED"


# --- answering ----------------------------------------------------------------------


async def test_a_recommendation_is_answered_once(gql):
    await course(gql)
    await create_goal(gql, "s-ans", ["advanced"])
    rec = nodes(await recs(gql, "s-ans"))[0]
    answered = await respond(gql, rec["id"], "ACCEPTED", "on it")
    assert "errors" not in answered, answered
    got = answered["data"]["respondToRecommendation"]
    assert got["id"] == rec["id"] and got["status"] == "ACCEPTED"
    assert got["respondedAt"] is not None and got["responseNote"] == "on it"
    again = await respond(gql, rec["id"], "DISMISSED")
    assert error_codes(again) == ["BAD_USER_INPUT"]
    assert again["errors"][0]["extensions"]["field"] == "input.id"
    stored = (await ok(gql, ONE, {"id": rec["id"]}))["recommendation"]
    assert stored["status"] == "ACCEPTED" and stored["responseNote"] == "on it"
    assert nodes(await recs(gql, "s-ans")) == []  # no longer OPEN
    assert [r["id"] for r in nodes(await recs(gql, "s-ans", status="ACCEPTED"))] == [rec["id"]]
    missing = await respond(gql, "rec-nope", "ACCEPTED")
    assert error_codes(missing) == ["NOT_FOUND"]
    assert (await ok(gql, ONE, {"id": "rec-nope"}))["recommendation"] is None


async def test_a_long_note_is_refused_and_changes_nothing(gql):
    await course(gql)
    await create_goal(gql, "s-note", ["advanced"])
    rec = nodes(await recs(gql, "s-note"))[0]
    body = await respond(gql, rec["id"], "SKIPPED", "x" * 1001)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "input.note"
    assert (await ok(gql, ONE, {"id": rec["id"]}))["recommendation"]["status"] == "OPEN"
    fine = await respond(gql, rec["id"], "SKIPPED", "x" * 1000)
    assert fine["data"]["respondToRecommendation"]["status"] == "SKIPPED"


async def test_the_sweeper_expires_recommendations_unanswered_for_7_days(gql, runtime):
    from workers.sweep import expire_recommendations

    await course(gql)
    await create_goal(gql, "s-old", ["advanced"])
    await create_goal(gql, "s-new", ["advanced"])
    old = nodes(await recs(gql, "s-old"))[0]
    fresh = nodes(await recs(gql, "s-new"))[0]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE recommendations SET expires_at = now() WHERE id = :i"), {"i": old["id"]}
        )
    ctx = {"engine": runtime.engine, "redis": runtime.redis}
    assert await expire_recommendations(ctx) == 1
    assert await expire_recommendations(ctx) == 0
    assert (await ok(gql, ONE, {"id": old["id"]}))["recommendation"]["status"] == "EXPIRED"
    assert (await ok(gql, ONE, {"id": fresh["id"]}))["recommendation"]["status"] == "OPEN"
    assert nodes(await recs(gql, "s-old")) == []


async def test_an_expired_recommendation_cannot_be_answered(gql, runtime):
    await course(gql)
    await create_goal(gql, "s-exp", ["advanced"])
    rec = nodes(await recs(gql, "s-exp"))[0]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE recommendations SET expires_at = now() - interval '1 minute' WHERE id = :i"
            ),
            {"i": rec["id"]},
        )
    body = await respond(gql, rec["id"], "ACCEPTED")
    assert error_codes(body) == ["BAD_USER_INPUT"]
    stored = (await ok(gql, ONE, {"id": rec["id"]}))["recommendation"]
    assert stored["status"] == "EXPIRED" and stored["respondedAt"] is None


async def test_a_skipped_or_dismissed_target_is_not_offered_again_for_a_day(gql, runtime):
    c = await course(gql)
    goal = await create_goal(gql, "s-skip", ["advanced"])
    rec = nodes(await recs(gql, "s-skip"))[0]
    skipped = await respond(gql, rec["id"], "SKIPPED", "later")
    assert skipped["data"]["respondToRecommendation"]["status"] == "SKIPPED"
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    assert nodes(await recs(gql, "s-skip", kind="NEXT_LESSON")) == []
    every = nodes(await recs(gql, "s-skip", status=None))
    assert [(r["id"], r["status"]) for r in every] == [(rec["id"], "SKIPPED")]
    # 25 hours later it is offered again
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE recommendations SET responded_at = now() - interval '25 hours'"
                " WHERE id = :i"
            ),
            {"i": rec["id"]},
        )
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    back = nodes(await recs(gql, "s-skip", kind="NEXT_LESSON"))
    assert [r["lesson"] for r in back] == [{"id": c["a1"]}] and back[0]["id"] != rec["id"]
    # dismissed: the same
    dismissed = await respond(gql, back[0]["id"], "DISMISSED")
    assert dismissed["data"]["respondToRecommendation"]["status"] == "DISMISSED"
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    assert nodes(await recs(gql, "s-skip", kind="NEXT_LESSON")) == []


async def test_an_accepted_target_is_not_offered_again_either(gql):
    await course(gql)
    goal = await create_goal(gql, "s-acc", ["advanced"])
    rec = nodes(await recs(gql, "s-acc"))[0]
    await respond(gql, rec["id"], "ACCEPTED")
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    assert nodes(await recs(gql, "s-acc")) == []


# --- BREAK and DIFFICULTY -----------------------------------------------------------


async def test_frequent_pauses_in_class_metrics_recommend_a_break(gql):
    await course(gql)
    goal = await create_goal(gql, "s-break", ["advanced"])
    await ingest(gql, metrics("s-break", pauses=2, total=5))  # 40 %
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    found = nodes(await recs(gql, "s-break", kind="BREAK"))
    assert len(found) == 1
    rec = found[0]
    assert rec["lesson"] is None and rec["skill"] is None and rec["priority"] == "MEDIUM"
    assert rec["evidence"] == {"pauseRate": 0.4, "pauses": 2, "records": 5, "days": 7}
    assert "2 of your last 5" in rec["reason"] and "40%" in rec["reason"]
    # more pauses: a HIGH one replaces it (one BREAK at a time)
    await ingest(gql, metrics("s-break", pauses=5, total=5, class_id="c-break2"))  # 7 of 10
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    found = nodes(await recs(gql, "s-break", kind="BREAK"))
    # the same target (BREAK): the first one is kept, not duplicated
    assert [r["id"] for r in found] == [rec["id"]]


async def test_too_few_or_too_rare_pauses_make_no_break(gql):
    await course(gql)
    few = await create_goal(gql, "s-few", ["advanced"])
    await ingest(gql, metrics("s-few", pauses=4, total=4))  # 100 % of only 4
    await ok(gql, RECOMPUTE, {"g": few["id"]})
    assert nodes(await recs(gql, "s-few", kind="BREAK")) == []
    rare = await create_goal(gql, "s-rare", ["advanced"])
    await ingest(gql, metrics("s-rare", pauses=2, total=10))  # 20 %
    await ok(gql, RECOMPUTE, {"g": rare["id"]})
    assert nodes(await recs(gql, "s-rare", kind="BREAK")) == []
    exact = await create_goal(gql, "s-exact", ["advanced"])
    await ingest(gql, metrics("s-exact", pauses=3, total=10))  # exactly 30 %
    await ok(gql, RECOMPUTE, {"g": exact["id"]})
    assert len(nodes(await recs(gql, "s-exact", kind="BREAK"))) == 1


async def test_old_pauses_do_not_count(gql):
    await course(gql)
    goal = await create_goal(gql, "s-old", ["advanced"])
    records = metrics("s-old", pauses=5, total=5)
    for r in records:
        r["timestamp"] = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    await ingest(gql, records)
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    assert nodes(await recs(gql, "s-old", kind="BREAK")) == []


async def test_high_accuracy_on_graded_answers_recommends_harder_lessons(gql, runtime, jobs):
    await course(gql)
    await create_goal(gql, "s-diff", ["advanced"])
    quiz_id, questions = await quiz_on(runtime, ["basics"] * 6)
    await ok(gql, SUBMIT, {"q": quiz_id, "s": "s-diff", "a": answers(questions, [True] * 6)})
    await jobs.run()
    found = nodes(await recs(gql, "s-diff", kind="DIFFICULTY"))
    assert len(found) == 1
    advice = found[0]["difficulty"]
    assert (advice["current"], advice["suggested"]) == (5, 6)
    assert advice["answersConsidered"] == 6 and advice["recentAccuracy"] == 1.0
    assert advice["targetAccuracy"] == 0.85
    assert found[0]["evidence"]["suggested"] == 6


# --- lists --------------------------------------------------------------------------


async def test_recommendations_filter_by_status_and_kind_and_page_newest_first(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-list"})
    goal = await create_goal(gql, "s-list", ["advanced"])
    first_next = nodes(await recs(gql, "s-list"))[0]
    await ingest(gql, metrics("s-list", pauses=3, total=5))
    await ok(gql, RECOMPUTE, {"g": goal["id"]})
    await master_basics(gql, c, "s-list")
    await jobs.run()
    every = nodes(await recs(gql, "s-list", status=None))
    kinds = [(r["kind"], r["status"]) for r in every]
    assert ("NEXT_LESSON", "SUPERSEDED") in kinds and ("BREAK", "OPEN") in kinds
    ids = [r["id"] for r in every]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert [r["createdAt"] for r in every] == sorted((r["createdAt"] for r in every), reverse=True)
    assert every[-1]["id"] == first_next["id"]
    # by status
    superseded = nodes(await recs(gql, "s-list", status="SUPERSEDED"))
    assert superseded and all(r["status"] == "SUPERSEDED" for r in superseded)
    assert first_next["id"] in [r["id"] for r in superseded]
    opened = nodes(await recs(gql, "s-list"))
    assert opened and all(r["status"] == "OPEN" for r in opened)
    assert len([r for r in opened if r["kind"] == "NEXT_LESSON"]) == 1
    # by kind, and both
    breaks = nodes(await recs(gql, "s-list", status=None, kind="BREAK"))
    assert [r["kind"] for r in breaks] == ["BREAK"]
    assert nodes(await recs(gql, "s-list", status="SUPERSEDED", kind="BREAK")) == []
    # pages of one, newest first, that add up to the whole list
    seen: list[str] = []
    after = None
    while True:
        page = await recs(gql, "s-list", status=None, first=1, after=after)
        seen += [r["id"] for r in nodes(page)]
        assert len(page["edges"]) <= 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids
    bad = await gql(RECS, {"s": "s-list", "status": None, "kind": None, "first": -1, "after": None})
    assert error_codes(bad) == ["BAD_USER_INPUT"]


# --- the push -----------------------------------------------------------------------


async def test_recommendation_updated_pushes_each_change(gql, app, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-push"})
    await create_goal(gql, "s-push", ["advanced"])
    rec = nodes(await recs(gql, "s-push"))[0]
    query = (
        "subscription($s: ID!) { recommendationUpdated(studentId: $s) { id kind status"
        " responseNote lesson { id } } }"
    )
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"s": "s-push"}},
            }
        )
        # first the open ones as they are now
        now = (await receive(ws))["payload"]["data"]["recommendationUpdated"]
        assert now["id"] == rec["id"] and now["status"] == "OPEN"
        answered = await respond(gql, rec["id"], "ACCEPTED", "yes")
        assert "errors" not in answered, answered
        pushed = await receive(ws)
        assert pushed["type"] == "next", pushed
        got = pushed["payload"]["data"]["recommendationUpdated"]
        assert got == {
            "id": rec["id"],
            "kind": "NEXT_LESSON",
            "status": "ACCEPTED",
            "responseNote": "yes",
            "lesson": {"id": c["a1"]},
        }
        # a recompute in the worker that makes a new one pushes it
        await master_basics(gql, c, "s-push")
        await jobs.run()
        made = (await receive(ws))["payload"]["data"]["recommendationUpdated"]
        assert made["status"] == "OPEN" and made["kind"] == "NEXT_LESSON"
        assert made["lesson"] == {"id": c["b1"]}


# --- access -------------------------------------------------------------------------


async def test_a_learner_reads_and_answers_only_its_own_recommendations(gql, app):
    await course(gql)
    token = await learner_token(gql, "recs@example.org", "s-mine")
    other = await learner_token(gql, "recs-other@example.org", "s-other")
    await create_goal(gql, "s-mine", ["advanced"], token=token)
    await create_goal(gql, "s-other", ["advanced"], token=other)
    mine = nodes(await recs(gql, "s-mine", token=token))
    assert len(mine) == 1 and mine[0]["studentId"] == "s-mine"
    theirs = nodes(await recs(gql, "s-other", token=other))[0]
    # someone else's: FORBIDDEN everywhere
    for query, variables in (
        (ONE, {"id": theirs["id"]}),
        (RESPOND, {"i": {"id": theirs["id"], "response": "DISMISSED"}}),
        (RECS, {"s": "s-other", "status": None, "kind": None, "first": 5, "after": None}),
    ):
        body = await gql(query, variables, token=token)
        assert "FORBIDDEN" in error_codes(body), (query, body)
    assert (await ok(gql, ONE, {"id": theirs["id"]}))["recommendation"]["status"] == "OPEN"
    # one's own: fine
    own = await respond(gql, mine[0]["id"], "ACCEPTED", token=token)
    assert own["data"]["respondToRecommendation"]["status"] == "ACCEPTED"
    seen = await ok(gql, ONE, {"id": mine[0]["id"]}, token=token)
    assert seen["recommendation"]["id"] == mine[0]["id"]
    # the push: someone else's is refused, one's own accepted
    query = "subscription($s: ID!) { recommendationUpdated(studentId: $s) { id } }"
    async with ws_client(app) as http, ws_connect(http) as ws:
        refused = await open_subscription(
            ws, {"authorization": f"Bearer {token}"}, query, {"s": "s-other"}
        )
        assert refused_codes(refused) == ["FORBIDDEN"]


async def test_pauses_alone_make_a_break_through_the_background_job(gql, jobs):
    """A check-in with pauses and no skill moves no mastery, yet it is queued."""
    await course(gql)
    await create_goal(gql, "s-pauses", ["advanced"])
    await ingest(gql, metrics("s-pauses", pauses=3, total=5))
    assert await jobs.run() >= 1
    assert len(nodes(await recs(gql, "s-pauses", kind="BREAK"))) == 1


async def test_enrolling_queues_the_next_lesson(gql, jobs):
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": "s-just-enrolled"})
    assert await jobs.run() == 1
    found = nodes(await recs(gql, "s-just-enrolled", kind="NEXT_LESSON"))
    assert [r["lesson"] for r in found] == [{"id": c["a1"]}]


async def test_staff_read_but_never_answer_a_learners_recommendation(gql):
    await course(gql)
    await create_goal(gql, "s-staff-answer", ["advanced"])
    rec = nodes(await recs(gql, "s-staff-answer"))[0]
    body = await gql(RESPOND, {"i": {"id": rec["id"], "response": "ACCEPTED"}})
    assert error_codes(body) == ["FORBIDDEN"]
    assert (await ok(gql, ONE, {"id": rec["id"]}))["recommendation"]["status"] == "OPEN"
