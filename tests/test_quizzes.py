"""Quiz generation, submission, grading and profiles through GraphQL and a real worker
(in burst mode where only the work matters, running beside the test for subscriptions)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from db.tables import profiles, quiz_questions, quizzes
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Jobs,
    error_codes,
    wait_for_task,
    ws_client,
    ws_connect,
)

GENERATE = """
mutation($input: GenerateQuizInput!) { generateQuiz(input: $input) { id kind status createdAt } }
"""
QUIZ = """
query($id: ID!) { quiz(id: $id) { id topic difficulty source createdAt
  questions { id number text type options skill } } }
"""
SUBMIT = """
mutation($input: SubmitQuizInput!) { submitQuiz(input: $input) {
  attempt { id studentId score correctCount totalCount submittedAt quiz { id }
    answers { question { id type } given correct expected } }
  profileTask { id kind status } } }
"""
STUDENT = """
query($id: ID!) { student(id: $id) {
  quizAttempts(first: 5) { id score }
  profile { id studentId level summary strengths weaknesses recommendations learningStyle source xp streakDays } } }
"""


async def register(gql, email: str, student_id: str) -> str:
    body = await gql(
        "mutation($i: RegisterInput!) { register(input: $i) { token } }",
        {"i": {"email": email, "password": "0123456789", "studentId": student_id}},
        api_key=None,
    )
    return body["data"]["register"]["token"]


# How a test sees a task finished: `Jobs.finish` (burst mode) or `wait_for_task` (polling
# a worker that runs beside the test).
Finish = Callable[..., Awaitable[dict[str, Any]]]


async def make_quiz(
    gql: GraphQLClient, finish: Finish, topic: str = "python", count: int = 6, **auth: Any
) -> dict[str, Any]:
    body = await gql(
        GENERATE,
        {"input": {"topic": topic, "questionCount": count, "difficulty": "BEGINNER"}},
        **auth,
    )
    task = body["data"]["generateQuiz"]
    assert task["kind"] == "QUIZ_GENERATION" and task["status"] == "QUEUED"
    done = await finish(gql, task["id"], **auth)
    assert done["status"] == "SUCCEEDED", done
    assert done["result"]["__typename"] == "Quiz"
    return (await gql(QUIZ, {"id": done["result"]["id"]}, **auth))["data"]["quiz"]


async def test_generate_quiz_runs_on_the_worker_with_the_fallback(gql, jobs: Jobs):
    quiz = await make_quiz(gql, jobs.finish, "Python programming", 8)
    assert quiz["source"] == "FALLBACK" and quiz["difficulty"] == "BEGINNER"
    assert [q["number"] for q in quiz["questions"]] == list(range(1, 9))
    assert {q["type"] for q in quiz["questions"]} == {
        "MULTIPLE_CHOICE",
        "TRUE_FALSE",
        "OPEN",
        "LIST",
    }
    for q in quiz["questions"]:
        assert q["skill"]
        assert len(q["options"]) == {"MULTIPLE_CHOICE": 4, "TRUE_FALSE": 2}.get(q["type"], 0)


async def test_generate_quiz_validation(gql):
    for input_, field in [
        ({"topic": "   "}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"topic": "sql", "questionCount": 0}, "questionCount"),
        ({"topic": "sql", "questionCount": 21}, "questionCount"),
    ]:
        body = await gql(GENERATE, {"input": input_})
        assert error_codes(body) == ["BAD_USER_INPUT"], input_
        assert body["errors"][0]["extensions"]["field"] == field
    assert error_codes(await gql(GENERATE, {"input": {"topic": "sql"}}, api_key=None)) == [
        "UNAUTHENTICATED"
    ]


async def test_submit_grades_at_once_and_profiles_in_the_background(gql, jobs: Jobs, runtime):
    quiz = await make_quiz(gql, jobs.finish, "sql", 5)
    wrong = [{"questionId": q["id"], "values": ["definitely not it"]} for q in quiz["questions"]]
    first = (
        await gql(SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-1", "answers": wrong}})
    )["data"]["submitQuiz"]
    attempt = first["attempt"]
    assert (attempt["score"], attempt["correctCount"], attempt["totalCount"]) == (0.0, 0, 5)
    assert all(not a["correct"] and a["expected"] for a in attempt["answers"])
    # The expected values of a GradedAnswer, sent back verbatim, are always correct.
    right = [
        {"questionId": a["question"]["id"], "values": a["expected"]} for a in attempt["answers"]
    ]
    second = (
        await gql(SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-1", "answers": right}})
    )["data"]["submitQuiz"]
    assert second["attempt"]["score"] == 100.0 and second["attempt"]["correctCount"] == 5
    assert second["profileTask"]["kind"] == "PROFILE_ANALYSIS"

    for submission in (first, second):
        done = await jobs.finish(gql, submission["profileTask"]["id"])
        assert done["status"] == "SUCCEEDED" and done["result"]["__typename"] == "Profile"
    student = (await gql(STUDENT, {"id": "s-1"}))["data"]["student"]
    assert [a["id"] for a in student["quizAttempts"]] == [second["attempt"]["id"], attempt["id"]]
    profile = student["profile"]
    assert profile["level"] == 10 and profile["source"] == "FALLBACK"
    # Same day twice: the streak stays at 1; XP adds up (100 + 0) + (100 + 5·10 + 300).
    assert profile["streakDays"] == 1 and profile["xp"] == 100 + 450
    assert profile["recommendations"]
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(profiles)) == 2


async def test_partial_answers_and_bad_submissions(gql, jobs: Jobs):
    quiz = await make_quiz(gql, jobs.finish, "algebra", 4)
    one = [{"questionId": quiz["questions"][0]["id"], "values": ["nope"]}]
    body = await gql(SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-2", "answers": one}})
    attempt = body["data"]["submitQuiz"]["attempt"]
    assert attempt["totalCount"] == 4 and [a["given"] for a in attempt["answers"]][1:] == [
        [],
        [],
        [],
    ]
    unknown_quiz = await gql(
        SUBMIT, {"input": {"quizId": "nope", "studentId": "s-2", "answers": []}}
    )
    assert error_codes(unknown_quiz) == ["NOT_FOUND"]
    stranger = [{"questionId": "not-a-question", "values": ["x"]}]
    body = await gql(
        SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-2", "answers": stranger}}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]
    twice = one + one
    body = await gql(
        SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-2", "answers": twice}}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_unknown_ids_are_null(gql):
    body = await gql('{ task(id: "nope") { id } quiz(id: "nope") { id } }')
    assert body["data"] == {"task": None, "quiz": None}


async def test_learners_act_only_for_their_student(gql, jobs: Jobs):
    token = await register(gql, "ln@example.org", "s-own")
    other = await register(gql, "other@example.org", "s-other")
    body = await gql(
        GENERATE, {"input": {"topic": "statistics", "studentId": "s-other"}}, token=token
    )
    assert error_codes(body) == ["FORBIDDEN"]
    own = await gql(GENERATE, {"input": {"topic": "statistics", "questionCount": 3}}, token=token)
    task_id = own["data"]["generateQuiz"]["id"]
    done = await jobs.finish(gql, task_id, token=token)
    assert done["status"] == "SUCCEEDED"
    # Somebody else's task is not theirs to see; staff see every task.
    assert error_codes(
        await gql("query($id: ID!) { task(id: $id) { id } }", {"id": task_id}, token=other)
    ) == ["FORBIDDEN"]
    assert (await gql("query($id: ID!) { task(id: $id) { id } }", {"id": task_id}))["data"]["task"][
        "id"
    ] == task_id
    quiz_id = done["result"]["id"]
    answers = {"quizId": quiz_id, "studentId": "s-other", "answers": []}
    assert error_codes(await gql(SUBMIT, {"input": answers}, token=token)) == ["FORBIDDEN"]
    mine = await gql(SUBMIT, {"input": {**answers, "studentId": "s-own"}}, token=token)
    assert mine["data"]["submitQuiz"]["attempt"]["studentId"] == "s-own"
    assert error_codes(await gql(STUDENT, {"id": "s-other"}, token=token)) == ["FORBIDDEN"]


async def test_task_subscription_yields_each_state_then_completes(gql, app, worker):
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        assert (await ws.receive_json(timeout=5))["type"] == "connection_ack"
        # Subscribe to a task that cannot start before the subscription is in place: the
        # worker is busy-free, so create it first and subscribe at once.
        body = await gql(GENERATE, {"input": {"topic": "machine learning", "questionCount": 10}})
        task_id = body["data"]["generateQuiz"]["id"]
        await ws.send_json(
            {
                "id": "t",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($id: ID!) { task(id: $id) { status result { __typename } } }",
                    "variables": {"id": task_id},
                },
            }
        )
        states = []
        while True:
            message = await ws.receive_json(timeout=10)
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            states.append(message["payload"]["data"]["task"]["status"])
    assert states[-1] == "SUCCEEDED"
    assert len(states) == len(set(states))  # each change once
    assert set(states) <= {"QUEUED", "RUNNING", "SUCCEEDED"}


async def test_profile_updated_pushes_new_profiles(gql, app, worker):
    quiz = await make_quiz(gql, wait_for_task, "python", 3)
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        await ws.receive_json(timeout=5)
        await ws.send_json(
            {
                "id": "p",
                "type": "subscribe",
                "payload": {
                    "query": 'subscription { profileUpdated(studentId: "s-9") { id studentId level } }'
                },
            }
        )
        await asyncio.sleep(0.2)  # the subscription is registered before the submission
        answers = [{"questionId": q["id"], "values": ["x"]} for q in quiz["questions"]]
        body = await gql(
            SUBMIT, {"input": {"quizId": quiz["id"], "studentId": "s-9", "answers": answers}}
        )
        assert "errors" not in body
        message = await ws.receive_json(timeout=10)
    assert message["type"] == "next"
    assert message["payload"]["data"]["profileUpdated"]["studentId"] == "s-9"


def job_context(runtime) -> dict[str, Any]:
    """What arq hands a job on its first try, for running jobs directly (no LLM)."""
    from workers.llm import LLMClient

    return {
        "engine": runtime.engine,
        "redis": runtime.redis,
        "config": runtime.worker_config,
        "llm": LLMClient(api_key=None, base_url=None, model="none"),
        "job_try": 1,
    }


async def test_retried_jobs_store_nothing_twice(gql, runtime):
    """Running a job again (as arq does after a lost worker) finds the stored result."""
    from workers.jobs import generate_quiz

    body = await gql(GENERATE, {"input": {"topic": "sql", "questionCount": 3}})
    task_id = body["data"]["generateQuiz"]["id"]
    ctx = job_context(runtime)
    await generate_quiz(ctx, task_id)
    await generate_quiz({**ctx, "job_try": 2}, task_id)
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(quizzes)) == 1
        assert await conn.scalar(select(func.count()).select_from(quiz_questions)) == 3
    assert (await wait_for_task(gql, task_id))["status"] == "SUCCEEDED"


async def test_the_profile_follows_the_newest_attempt_whichever_analysis_ends_last(gql, runtime):
    from workers.jobs import analyze_profile, generate_quiz

    ctx = job_context(runtime)
    body = await gql(GENERATE, {"input": {"topic": "sql", "questionCount": 3}})
    await generate_quiz(ctx, body["data"]["generateQuiz"]["id"])
    quiz_id = (await wait_for_task(gql, body["data"]["generateQuiz"]["id"]))["result"]["id"]
    quiz = (await gql(QUIZ, {"id": quiz_id}))["data"]["quiz"]
    wrong = [{"questionId": q["id"], "values": ["not it"]} for q in quiz["questions"]]
    submissions = [
        (await gql(SUBMIT, {"input": {"quizId": quiz_id, "studentId": "s-9", "answers": wrong}}))[
            "data"
        ]["submitQuiz"]
        for _ in range(2)
    ]
    # The analysis of the newer attempt finishes first, the older one's last.
    for submission in reversed(submissions):
        await analyze_profile(ctx, submission["profileTask"]["id"])
    profile = (await gql(STUDENT, {"id": "s-9"}))["data"]["student"]["profile"]
    newest = (await wait_for_task(gql, submissions[1]["profileTask"]["id"]))["result"]
    assert profile["id"] == newest["id"] and profile["xp"] == 200


async def test_no_task_is_left_queued_when_the_job_cannot_be_queued(services):
    """Redis down: the mutation says so, and the row it wrote is FAILED, not QUEUED."""
    import httpx

    from db.tables import tasks
    from learntwin_graphql.app import create_app
    from learntwin_graphql.runtime import Runtime
    from tests.conftest import GraphQLClient, clean, free_port, make_settings

    await clean(services)
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            body = await GraphQLClient(http)(GENERATE, {"input": {"topic": "sql"}})
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(tasks.c.status, tasks.c.error))).all()
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "not queued" in body["errors"][0]["message"]
    assert [(status, error.startswith("could not be queued")) for status, error in rows] == [
        ("FAILED", True)
    ]
