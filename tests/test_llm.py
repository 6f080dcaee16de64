"""Every LLM path against the fake OpenAI-compatible server: structured output, JSON mode,
malformed and wrong-shaped answers, errors, hangs and no key, for quizzes and profiles;
then one quiz written by the LLM end to end through GraphQL and a (burst-mode) worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from ml.authoring import author_profile, author_quiz
from ml.llm import parse_json_answer
from ml.profiling import ProfileLLM, fallback_profile, level_for_score
from ml.quiz import AnswerOutcome, ContentSource, Difficulty, QuestionType
from ml.quizgen import fallback_quiz, validate_draft
from tests import fake_llm
from tests.conftest import GraphQLClient, Jobs, Services, clean, make_settings
from tests.fake_llm import (
    ERROR,
    GOOD,
    HANG,
    MALFORMED,
    NO_SCHEMA,
    PROFILE_JSON,
    WRONG_SHAPE,
    FakeLLM,
    running_fake_llm,
)
from workers.llm import LLMClient

MODEL = "test-model-7b"
TOPIC = "photosynthesis"
OUTCOMES = [
    AnswerOutcome(type=QuestionType.MULTIPLE_CHOICE, skill="light reactions", correct=True),
    AnswerOutcome(type=QuestionType.MULTIPLE_CHOICE, skill="light reactions", correct=True),
    AnswerOutcome(type=QuestionType.TRUE_FALSE, skill="calvin cycle", correct=False),
    AnswerOutcome(type=QuestionType.OPEN, skill="calvin cycle", correct=False),
    AnswerOutcome(type=QuestionType.LIST, skill="pigments", correct=True),
]
SCORE = 60.0


def _awaits_fake_handler(task: asyncio.Task[object]) -> bool:
    coro: object = task.get_coro()
    while coro is not None:
        code = getattr(coro, "cr_code", None)
        if code is not None and code.co_filename == fake_llm.__file__:
            return True
        coro = getattr(coro, "cr_await", None)
    return False


@contextlib.asynccontextmanager
async def serving_fake_llm() -> AsyncIterator[FakeLLM]:
    """The fake server; afterwards, the requests it left hanging are ended too. (On HANG
    the fake sleeps an hour, and uvicorn's forced exit leaves those handlers pending in
    the session's event loop until it closes.)"""
    try:
        async with running_fake_llm() as server:
            yield server
    finally:
        hung = [t for t in asyncio.all_tasks() if _awaits_fake_handler(t)]
        for task in hung:
            task.cancel()
        await asyncio.gather(*hung, return_exceptions=True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    async with serving_fake_llm() as server:
        yield server


def client_for(
    fake: FakeLLM, *, api_key: str | None = "sk-test", timeout: float = 5.0, max_retries: int = 2
) -> LLMClient:
    return LLMClient(
        api_key=api_key,
        base_url=fake.base_url,
        model=MODEL,
        timeout=timeout,
        max_retries=max_retries,
    )


def formats(fake: FakeLLM) -> list[str | None]:
    return [(body.get("response_format") or {}).get("type") for body in fake.requests]


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "ml.authoring" and record.levelno == logging.WARNING
    ]


async def quiz_from(llm: LLMClient, count: int = 6):
    try:
        return await author_quiz(llm, TOPIC, count, Difficulty.BEGINNER)
    finally:
        await llm.close()


def test_answers_are_read_without_any_client() -> None:
    """Reading an answer is pure (ml): the JSON alone, or the first object in prose."""
    good = json.dumps(PROFILE_JSON)
    assert parse_json_answer(good, ProfileLLM).value == ProfileLLM.model_validate(PROFILE_JSON)
    fenced = parse_json_answer(f"Here it is:\n```json\n{good}\n```", ProfileLLM)
    assert fenced.value is not None and fenced.reason is None
    assert parse_json_answer("no json here", ProfileLLM).reason == (
        "LLM answer holds no JSON object"
    )
    assert "not valid JSON" in (parse_json_answer("{oops}", ProfileLLM).reason or "")
    wrong = parse_json_answer('{"level": 0}', ProfileLLM)
    assert wrong.value is None and "does not match the schema" in (wrong.reason or "")


async def test_a_good_answer_is_an_llm_quiz_asked_with_a_json_schema(fake, caplog):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    draft, source = await quiz_from(client_for(fake), 6)

    assert source is ContentSource.LLM
    assert validate_draft(draft, count=6) == []
    assert draft.topic == TOPIC and draft.difficulty is Difficulty.BEGINNER
    assert all(q.text.startswith("LLM question") for q in draft.questions)
    assert {q.type for q in draft.questions} == set(QuestionType)
    # One request, to the configured base URL (the fake only serves /v1/chat/completions
    # on its own port), with the configured model and structured output by JSON schema.
    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request["model"] == MODEL
    assert request["response_format"]["type"] == "json_schema"
    schema = request["response_format"]["json_schema"]
    assert schema["name"] == "quiz" and "questions" in schema["schema"]["properties"]
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert TOPIC in request["messages"][1]["content"]
    assert fallback_warnings(caplog) == []


async def test_an_endpoint_without_json_schema_is_asked_in_json_mode(fake):
    fake.mode = NO_SCHEMA
    draft, source = await quiz_from(client_for(fake), 4)

    assert source is ContentSource.LLM
    assert validate_draft(draft, count=4) == []
    assert formats(fake) == ["json_schema", "json_object"]
    assert {body["model"] for body in fake.requests} == {MODEL}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (MALFORMED, "holds no JSON object"),
        (WRONG_SHAPE, "does not match the schema"),
    ],
)
async def test_a_bad_answer_means_the_fallback_and_says_why(fake, caplog, mode, reason):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    fake.mode = mode
    draft, source = await quiz_from(client_for(fake), 5)

    assert source is ContentSource.FALLBACK
    assert draft == fallback_quiz(TOPIC, 5, Difficulty.BEGINNER)
    assert validate_draft(draft, count=5) == []
    assert len(fake.requests) == 1  # a bad answer is not asked again
    (warning,) = fallback_warnings(caplog)
    assert TOPIC in warning and reason in warning


async def test_server_errors_are_retried_twice_then_the_fallback(fake, caplog):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    fake.mode = ERROR
    began = time.perf_counter()
    draft, source = await quiz_from(client_for(fake, max_retries=2), 5)
    elapsed = time.perf_counter() - began

    assert source is ContentSource.FALLBACK
    assert draft == fallback_quiz(TOPIC, 5, Difficulty.BEGINNER)
    assert len(fake.requests) == 3  # the first try and two retries
    assert formats(fake) == ["json_schema"] * 3  # a 500 is not a refused format
    # The openai client's back-off: about 0.5 s, then about 1 s (less up to 25 % jitter).
    assert 0.5 < elapsed < 5, elapsed
    (warning,) = fallback_warnings(caplog)
    assert "LLM call failed" in warning and "InternalServerError" in warning


async def test_a_hanging_endpoint_times_out_within_the_configured_bound(fake, caplog):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    fake.mode = HANG
    began = time.perf_counter()
    _, source = await quiz_from(client_for(fake, timeout=0.3, max_retries=2), 5)
    elapsed = time.perf_counter() - began

    assert source is ContentSource.FALLBACK
    assert len(fake.requests) == 3  # each try timed out after 0.3 s
    # Three tries of 0.3 s plus back-off of about 1.5 s: far below the fake's 3600 s.
    assert 0.9 <= elapsed < 5, elapsed
    (warning,) = fallback_warnings(caplog)
    assert "APITimeoutError" in warning


async def test_no_key_means_the_fallback_without_any_request(fake, caplog):
    caplog.set_level(logging.INFO, logger="ml.authoring")
    llm = client_for(fake, api_key=None)
    assert not llm.configured
    draft, source = await quiz_from(llm, 5)

    assert source is ContentSource.FALLBACK
    assert draft == fallback_quiz(TOPIC, 5, Difficulty.BEGINNER)
    assert fake.requests == []
    profile, profile_source = await author_profile(llm, TOPIC, SCORE, OUTCOMES)
    assert profile_source is ContentSource.FALLBACK and fake.requests == []
    assert profile == fallback_profile(SCORE, OUTCOMES, TOPIC)
    assert any("no LLM configured" in r.getMessage() for r in caplog.records)


async def test_a_good_profile_answer_is_the_llm_profile(fake, caplog):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    llm = client_for(fake)
    try:
        draft, source = await author_profile(llm, TOPIC, SCORE, OUTCOMES, [40.0])
    finally:
        await llm.close()

    assert source is ContentSource.LLM
    assert draft.level == PROFILE_JSON["level"]
    assert draft.summary == PROFILE_JSON["summary"]
    assert list(draft.strengths) == PROFILE_JSON["strengths"]
    assert list(draft.weaknesses) == PROFILE_JSON["weaknesses"]
    assert list(draft.recommendations) == PROFILE_JSON["recommendations"]
    assert draft.learning_style == PROFILE_JSON["learning_style"]
    (request,) = fake.requests
    assert request["model"] == MODEL
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "profile"
    assert fallback_warnings(caplog) == []


async def test_a_malformed_profile_answer_is_the_rule_based_profile(fake, caplog):
    caplog.set_level(logging.WARNING, logger="ml.authoring")
    fake.mode = MALFORMED
    llm = client_for(fake)
    try:
        draft, source = await author_profile(llm, TOPIC, SCORE, OUTCOMES, [40.0])
    finally:
        await llm.close()

    assert source is ContentSource.FALLBACK
    assert draft == fallback_profile(SCORE, OUTCOMES, TOPIC, [40.0])
    assert draft.level == level_for_score(SCORE) and draft.recommendations
    assert draft.summary != PROFILE_JSON["summary"]
    (warning,) = fallback_warnings(caplog)
    assert warning.startswith("profile from the fallback") and "JSON" in warning


async def test_a_generated_quiz_comes_from_the_llm_through_graphql(services: Services):
    await clean(services)
    async with serving_fake_llm() as fake:
        fake.mode = GOOD
        settings = make_settings(
            services,
            OPENAI_API_KEY="k",
            OPENAI_BASE_URL=fake.base_url,
            LEARNTWIN_LLM_TIMEOUT="2",
        )
        runtime = await Runtime.start(settings, run_migrations=False)
        try:
            transport = httpx.ASGITransport(create_app(runtime=runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                gql = GraphQLClient(http)
                body = await gql(
                    "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id status } }",
                    {"i": {"topic": "cell biology", "questionCount": 7}},
                )
                task = await Jobs(runtime).finish(gql, body["data"]["generateQuiz"]["id"])
                assert task["status"] == "SUCCEEDED", task
                quiz = (
                    await gql(
                        "query($id: ID!) { quiz(id: $id) { topic source questions { text } } }",
                        {"id": task["result"]["id"]},
                    )
                )["data"]["quiz"]
        finally:
            await runtime.close()

    assert quiz["source"] == "LLM" and quiz["topic"] == "cell biology"
    assert len(quiz["questions"]) == 7
    assert all(q["text"].startswith("LLM question") for q in quiz["questions"])
    (request,) = fake.requests
    assert request["model"] == settings.llm_model
    assert request["response_format"]["type"] == "json_schema"
