"""The data the fuzz test runs against, seeded through the API; the ids and cursors it
gets back fill fuzz_values' pools."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from learntwin_graphql.runtime import Runtime
from tests.conftest import ADMIN_KEY
from tests.fuzz_values import (
    CLASS_IDS,
    KNOWN_CURSORS,
    KNOWN_IDS,
    KNOWN_QUESTIONS,
    KNOWN_QUIZZES,
    KNOWN_TASKS,
    LEARNER_EMAIL,
    LEARNER_STUDENT,
    PASSWORD,
    STUDENT_IDS,
)


async def _call(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


async def seed(runtime: Runtime, http: httpx.AsyncClient, model: Any) -> dict[str, dict[str, str]]:
    """A little of everything, so that ids and cursors can hit rows: two classes of
    students with metrics, a quiz with an attempt and a profile, predictions, a model.
    Returns each role's headers."""
    from db import score_models
    from workers.jobs import analyze_profile, generate_quiz
    from workers.llm import LLMClient

    admin = {"X-API-Key": ADMIN_KEY}
    async with runtime.engine.begin() as conn:
        await score_models.store_and_activate(conn, score_models.model_row(model))
    start = datetime(2026, 1, 5, tzinfo=UTC)
    records = [
        {
            "classId": CLASS_IDS[i % 2],
            "studentId": STUDENT_IDS[i % 3],
            "stuck": i % 2 == 0,
            "gotIt": i % 3 == 0,
            "pause": i % 4 == 0,
            "example": i % 5 == 0,
            "confidence": 1 + i % 10,
            "timestamp": (start + timedelta(hours=7 * i)).isoformat(),
            "eventId": f"e-fuzz-{i}" if i % 2 else None,
        }
        for i in range(24)
    ]
    # Once per module: register (and login) are rate limited per client address. First,
    # while its student does not exist yet: register refuses to claim one that has data.
    registered = await _call(
        http,
        "mutation($i: RegisterInput!) { register(input: $i) { token } }",
        {"i": {"email": LEARNER_EMAIL, "password": PASSWORD, "studentId": LEARNER_STUDENT}},
        {},
    )
    learner = {"Authorization": f"Bearer {registered['register']['token']}"}

    ingest = "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted rejected { message } } }"
    assert (await _call(http, ingest, {"r": records}, admin))["ingestMetrics"]["accepted"] == 24

    key = await _call(
        http,
        'mutation { createApiKey(name: "fuzz-instructor", role: INSTRUCTOR) { key } }',
        {},
        admin,
    )
    instructor = {"X-API-Key": key["createApiKey"]["key"]}
    # The quiz job runs here, directly, with the deterministic fallback (no LLM, no worker).
    ctx = {
        "engine": runtime.engine,
        "redis": runtime.redis,
        "config": runtime.worker_config,
        "llm": LLMClient(api_key=None, base_url=None, model="none"),
        "job_try": 1,
    }
    generate = "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id } }"
    task_id = (
        await _call(http, generate, {"i": {"topic": "fractions", "questionCount": 3}}, learner)
    )["generateQuiz"]["id"]
    await generate_quiz(ctx, task_id)
    quiz = (
        await _call(
            http,
            "query($id: ID!) { task(id: $id) { result { ... on Quiz { id questions { id } } } } }",
            {"id": task_id},
            admin,
        )
    )["task"]["result"]
    answers = [{"questionId": q["id"], "values": ["a"]} for q in quiz["questions"]]
    submit = "mutation($i: SubmitQuizInput!) { submitQuiz(input: $i) { attempt { id } profileTask { id } } }"
    submitted = (
        await _call(
            http,
            submit,
            {"i": {"quizId": quiz["id"], "studentId": LEARNER_STUDENT, "answers": answers}},
            learner,
        )
    )["submitQuiz"]
    await analyze_profile(ctx, submitted["profileTask"]["id"])
    predict = (
        "mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) { totalProcessed } }"
    )
    features = {"comprehension": 50, "attention": 60, "focus": 70, "retention": 80}
    await _call(
        http,
        predict,
        {"s": [{**features, "engagementTime": 30, "studentId": sid} for sid in STUDENT_IDS]},
        admin,
    )
    # Assigned in place: the strategies hold these very lists.
    KNOWN_TASKS[:] = [task_id, submitted["profileTask"]["id"]]
    KNOWN_QUIZZES[:] = [quiz["id"]]
    KNOWN_QUESTIONS[:] = [q["id"] for q in quiz["questions"]]
    KNOWN_IDS[:] = [
        *CLASS_IDS,
        *STUDENT_IDS,
        *KNOWN_TASKS,
        *KNOWN_QUIZZES,
        *KNOWN_QUESTIONS,
        submitted["attempt"]["id"],
    ]

    # Cursors the server issued, so that valid ones are fuzzed next to forged ones.
    pages = await _call(
        http,
        """query($c: ID!, $s: ID!) {
          classes(first: 1) { pageInfo { endCursor } }
          class(id: $c) { students(first: 1) { pageInfo { endCursor } }
                          metrics(first: 2) { pageInfo { endCursor } } }
          student(id: $s) { metrics(first: 1) { pageInfo { endCursor } } }
        }""",
        {"c": CLASS_IDS[0], "s": LEARNER_STUDENT},
        admin,
    )
    KNOWN_CURSORS[:] = [
        pages["classes"]["pageInfo"]["endCursor"],
        pages["class"]["students"]["pageInfo"]["endCursor"],
        pages["class"]["metrics"]["pageInfo"]["endCursor"],
        pages["student"]["metrics"]["pageInfo"]["endCursor"],
    ]
    return {"anonymous": {}, "ADMIN": admin, "INSTRUCTOR": instructor, "LEARNER": learner}
