"""Skills and the learner model through the API: the skill graph, knowledge-tracing
parameters, and levels moved by quiz answers (BKT + FSRS), against real Postgres."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from sqlalchemy import event

from db import quizzes as quiz_rows
from ml.quiz import ContentSource, Difficulty, QuestionType, QuizDraft, QuizQuestion
from tests.conftest import ADMIN_KEY, error_codes, learner_token, ws_client, ws_connect
from tests.test_analytics import ingest, record

UPSERT = "mutation($s: [SkillInput!]!) { upsertSkills(skills: $s) { id name prerequisites { id } dependents { id } } }"
SUBMIT = """
mutation($q: ID!, $s: ID!, $a: [AnswerInput!]!) {
  submitQuiz(input: {quizId: $q, studentId: $s, answers: $a}) { attempt { id score } } }
"""
LEVEL = """
query($s: ID!, $k: ID!) { student(id: $s) { skill(id: $k) {
  skill { id name } studentId pMastery pCorrectNext level band opportunities correct
  recentAccuracy lastPracticedAt retrievability stability nextReviewAt
  history(first: 10) { edges { node { source sourceId correct weight pMasteryBefore
    pMasteryAfter reviewRating } } } } } }
"""


async def quiz_on(runtime: Any, skills: list[str]) -> tuple[str, list[str]]:
    """A stored quiz with one TRUE_FALSE question (answer "True") per skill text."""
    questions = tuple(
        QuizQuestion(n + 1, f"Q{n + 1}?", QuestionType.TRUE_FALSE, ("True", "False"), s, ("True",))
        for n, s in enumerate(skills)
    )
    draft = QuizDraft("t", Difficulty.BEGINNER, questions)
    async with runtime.engine.begin() as conn:
        quiz_id = await quiz_rows.store_quiz(
            conn,
            task_id=f"t-{id(draft)}",
            draft=draft,
            source=ContentSource.FALLBACK,
            student_id=None,
        )
    rows = (await quiz_rows.questions_of(runtime.reads, [quiz_id]))[quiz_id]
    return quiz_id, [row["id"] for row in sorted(rows, key=lambda r: r["number"])]


def answers(question_ids: list[str], outcomes: list[bool]) -> list[dict[str, Any]]:
    return [
        {"questionId": q, "values": ["True" if ok else "False"]}
        for q, ok in zip(question_ids, outcomes, strict=True)
    ]


async def test_upsert_builds_the_graph_and_refuses_cycles_whole(gql):
    made = await gql(
        UPSERT,
        {
            "s": [
                {"id": "algebra", "name": "Algebra"},
                {"id": "calculus", "name": "Calculus", "prerequisiteIds": ["algebra"]},
            ]
        },
    )
    by_id = {s["id"]: s for s in made["data"]["upsertSkills"]}
    assert by_id["calculus"]["prerequisites"] == [{"id": "algebra"}]
    assert by_id["algebra"]["dependents"] == [{"id": "calculus"}]
    # algebra -> calculus -> algebra: refused, and the new skill of the batch is not stored.
    cycle = await gql(
        UPSERT,
        {
            "s": [
                {"id": "algebra", "name": "Algebra", "prerequisiteIds": ["calculus"]},
                {"id": "new-one", "name": "N"},
            ]
        },
    )
    assert error_codes(cycle) == ["BAD_USER_INPUT"]
    message = cycle["errors"][0]["message"]
    assert "cycle" in message and "algebra" in message and "calculus" in message
    assert sorted(cycle["errors"][0]["extensions"]["skillIds"]) == ["algebra", "calculus"]
    assert (await gql('{ skill(id: "new-one") { id } }'))["data"]["skill"] is None
    for bad, field in (
        ([{"id": "Bad Slug", "name": "x"}], "skills.0.id"),
        ([{"id": "ok", "name": "x", "prerequisiteIds": ["missing"]}], "skills"),
        ([{"id": "ok", "name": "  "}], "skills.0.name"),
        ([{"id": "ok", "name": "x"}, {"id": "ok", "name": "y"}], "skills"),
        ([{"id": "self", "name": "x", "prerequisiteIds": ["self"]}], "skills"),
    ):
        body = await gql(UPSERT, {"s": bad})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field, body
    page = await gql('{ skills(search: "ALG") { edges { node { id } } pageInfo { hasNextPage } } }')
    assert [e["node"]["id"] for e in page["data"]["skills"]["edges"]] == ["algebra"]


async def test_knowledge_tracing_parameters_are_checked_field_by_field(gql):
    await gql(UPSERT, {"s": [{"id": "kt", "name": "KT"}]})
    query = "mutation($i: KnowledgeTracingInput!) { setKnowledgeTracing(input: $i) { knowledgeTracing { prior learn guess slip forget } } }"
    good = {"skillId": "kt", "prior": 0.3, "learn": 0.2, "guess": 0.25, "slip": 0.05}
    body = await gql(query, {"i": good})
    assert body["data"]["setKnowledgeTracing"]["knowledgeTracing"] == {
        "prior": 0.3,
        "learn": 0.2,
        "guess": 0.25,
        "slip": 0.05,
        "forget": 0.0,
    }
    for name, value in (
        ("prior", 0),
        ("prior", 1),
        ("learn", 1.0),
        ("guess", 0.31),
        ("slip", 0.11),
        ("forget", 1),
    ):
        body = await gql(query, {"i": {**good, name: value}})
        assert error_codes(body) == ["BAD_USER_INPUT"], (name, body)
        assert body["errors"][0]["extensions"]["field"] == f"input.{name}"
    missing = await gql(query, {"i": {**good, "skillId": "nope"}})
    assert error_codes(missing) == ["NOT_FOUND"]


async def test_quiz_answers_move_the_level_as_bkt_and_schedule_fsrs_reviews(gql, runtime):
    quiz_id, questions = await quiz_on(runtime, ["Data Types", "data types", "DATA  types!"])
    assert (await gql('{ skill(id: "data-types") { id } }'))["data"]["skill"] is None
    body = await gql(
        SUBMIT, {"q": quiz_id, "s": "s-bkt", "a": answers(questions, [True, True, False])}
    )
    assert "errors" not in body, body
    level = (await gql(LEVEL, {"s": "s-bkt", "k": "data-types"}))["data"]["student"]["skill"]
    assert level["skill"] == {"id": "data-types", "name": "Data Types"}
    assert round(level["pMastery"], 4) == 0.5173
    events = [e["node"] for e in level["history"]["edges"]]
    assert [round(e["pMasteryAfter"], 4) for e in reversed(events)] == [0.5765, 0.8737, 0.5173]
    assert [e["reviewRating"] for e in reversed(events)] == [3, 3, 1]
    assert all(e["source"] == "QUIZ_ANSWER" and e["weight"] == 1 for e in events)
    assert {e["sourceId"] for e in events} == {body["data"]["submitQuiz"]["attempt"]["id"]}
    assert (level["opportunities"], level["correct"], level["level"]) == (3, 2, 6)
    assert level["band"] == "DEVELOPING" and level["recentAccuracy"] == pytest.approx(2 / 3)
    assert level["pCorrectNext"] == pytest.approx(0.5173 * 0.9 + 0.4827 * 0.2, abs=1e-4)
    assert level["nextReviewAt"] is not None and level["stability"] > 0
    assert 0 < level["retrievability"] <= 1
    practiced = await gql(
        '{ student(id: "s-bkt") { skills { edges { node { skill { id } band } } } } }'
    )
    nodes = [e["node"] for e in practiced["data"]["student"]["skills"]["edges"]]
    assert nodes == [{"skill": {"id": "data-types"}, "band": "DEVELOPING"}]
    untouched = await gql(
        '{ student(id: "s-bkt") { skills(band: DEVELOPING) { edges { cursor } } } }'
    )
    assert len(untouched["data"]["student"]["skills"]["edges"]) == 1


async def test_concurrent_submissions_for_one_student_lose_no_update(gql, runtime):
    quiz_id, questions = await quiz_on(runtime, ["race"])
    submissions = [
        gql(SUBMIT, {"q": quiz_id, "s": "s-race", "a": answers(questions, [n % 2 == 0])})
        for n in range(12)
    ]
    for body in await asyncio.gather(*submissions):
        assert "errors" not in body, body
    level = (await gql(LEVEL, {"s": "s-race", "k": "race"}))["data"]["student"]["skill"]
    assert (level["opportunities"], level["correct"]) == (12, 6)
    events = await gql(
        '{ student(id: "s-race") { skill(id: "race") { history(first: 50) { edges { node { pMasteryBefore pMasteryAfter } } } } } }'
    )
    chain = [e["node"] for e in reversed(events["data"]["student"]["skill"]["history"]["edges"])]
    # Each update starts where the previous one ended: none was applied to a stale state.
    assert all(a["pMasteryAfter"] == b["pMasteryBefore"] for a, b in itertools.pairwise(chain))


async def test_a_learner_reads_only_its_own_levels(gql, runtime):
    quiz_id, questions = await quiz_on(runtime, ["privacy"])
    for student in ("s-mine", "s-theirs"):
        await gql(SUBMIT, {"q": quiz_id, "s": student, "a": answers(questions, [True])})
    token = await learner_token(gql, "mine@example.org", "s-mine")
    own = await gql(LEVEL, {"s": "s-mine", "k": "privacy"}, token=token)
    assert own["data"]["student"]["skill"]["opportunities"] == 1
    other = await gql(LEVEL, {"s": "s-theirs", "k": "privacy"}, token=token)
    assert error_codes(other) == ["FORBIDDEN"]


async def test_the_level_of_a_skill_without_evidence_is_its_prior(gql):
    await ingest(gql, [record("c-new", "s-new")])
    await gql(UPSERT, {"s": [{"id": "fresh", "name": "Fresh"}]})
    level = (await gql(LEVEL, {"s": "s-new", "k": "fresh"}))["data"]["student"]["skill"]
    assert (level["pMastery"], level["band"], level["opportunities"]) == (0.2, "NOT_STARTED", 0)
    assert level["retrievability"] is None and level["history"]["edges"] == []
    listed = await gql(
        '{ student(id: "s-new") { skills(band: NOT_STARTED) { edges { node { skill { id } pMastery } } } } }'
    )
    assert {"skill": {"id": "fresh"}, "pMastery": 0.2} in [
        e["node"] for e in listed["data"]["student"]["skills"]["edges"]
    ]


@pytest.mark.parametrize("skill_count", [2, 12])
async def test_levels_with_their_history_cost_the_same_statements_for_any_count(
    gql, runtime, skill_count
):
    quiz_id, questions = await quiz_on(runtime, [f"count-{n}" for n in range(skill_count)])
    await gql(SUBMIT, {"q": quiz_id, "s": "s-count", "a": answers(questions, [True] * skill_count)})
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        body = await gql(
            '{ student(id: "s-count") { skills(first: 50) { edges { node { pMastery skill { id prerequisites { id } }'
            " history(first: 5) { edges { node { pMasteryAfter } } } } } } } }"
        )
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    assert len(body["data"]["student"]["skills"]["edges"]) == skill_count
    # the student's existence, levels, skills, their prerequisites, histories
    assert statements == 5


async def test_skill_level_updated_pushes_each_change(gql, app, runtime):
    quiz_id, questions = await quiz_on(runtime, ["live"])
    await gql(UPSERT, {"s": [{"id": "live", "name": "Live"}]})
    query = 'subscription { skillLevelUpdated(studentId: "s-live", skillId: "live") { opportunities pMastery band } }'
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        first = await asyncio.wait_for(ws.receive_json(), 10)
        assert first["payload"]["data"]["skillLevelUpdated"]["band"] == "NOT_STARTED"
        await gql(SUBMIT, {"q": quiz_id, "s": "s-live", "a": answers(questions, [True])})
        pushed = await asyncio.wait_for(ws.receive_json(), 10)
        level = pushed["payload"]["data"]["skillLevelUpdated"]
        assert level["opportunities"] == 1 and level["pMastery"] > 0.2


INGEST = "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted duplicates rejected { index field } } }"


def metric(student: str, got_it: bool, stuck: bool, **about: Any) -> dict[str, Any]:
    return {
        "classId": "c-soft",
        "studentId": student,
        "stuck": stuck,
        "gotIt": got_it,
        "pause": False,
        "example": False,
        "confidence": 5,
        **about,
    }


async def test_class_metrics_naming_a_skill_are_soft_evidence(gql):
    records = [
        metric("s-soft", True, False, skillId="fractions", eventId="e-1"),
        metric("s-soft", False, True, skillId="fractions"),
        metric("s-soft", True, True, skillId="fractions"),  # both: no evidence
        metric("s-soft", False, False, skillId="fractions"),  # neither: no evidence
        metric("s-soft", True, False, skillId="Not A Slug"),
    ]
    body = await gql(INGEST, {"r": records})
    result = body["data"]["ingestMetrics"]
    assert result["accepted"] == 4 and result["rejected"] == [{"index": 4, "field": "skillId"}]
    level = (await gql(LEVEL, {"s": "s-soft", "k": "fractions"}))["data"]["student"]["skill"]
    events = [e["node"] for e in reversed(level["history"]["edges"])]
    assert [(e["source"], e["correct"], e["weight"]) for e in events] == [
        ("METRIC", True, 0.3),
        ("METRIC", False, 0.3),
    ]
    assert events[0]["sourceId"] == "e-1" and events[0]["reviewRating"] is None
    # Soft evidence moves less than a graded answer would (0.5765 after one correct one).
    assert 0.2 < events[0]["pMasteryAfter"] < 0.5765
    assert events[1]["pMasteryAfter"] < events[1]["pMasteryBefore"]
    assert level["nextReviewAt"] is None  # soft evidence is no FSRS review
    again = await gql(INGEST, {"r": records[:1]})  # a known event id: no second update
    assert again["data"]["ingestMetrics"]["duplicates"] == 1
    level = (await gql(LEVEL, {"s": "s-soft", "k": "fractions"}))["data"]["student"]["skill"]
    assert level["opportunities"] == 2
