"""The tutor through the API against real Postgres, Redis and the fake OpenAI server:
sessions, messages, access, guardrails, idempotency, the rate limit, paging, and the
replies a burst worker writes (LLM and fallback), with their grounding and usage.

The helpers and fixtures here are shared with tests/test_tutor_streaming.py."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from db import quizzes as quiz_rows
from learntwin_graphql.config import Settings
from ml.quiz import ContentSource, Difficulty, QuestionType, QuizDraft, QuizQuestion
from tests.conftest import (
    ADMIN_KEY,
    GraphQLClient,
    Jobs,
    Services,
    error_codes,
    learner_token,
    make_settings,
    ws_client,
    ws_connect,
)
from tests.fake_llm import ERROR, GOOD, FakeLLM
from tests.test_llm import serving_fake_llm
from tests.test_skills import SUBMIT

# --- operations ------------------------------------------------------------------------

MESSAGE = (
    "id sessionId role content status source replyTo guardrails { kind message }"
    " model promptTokens completionTokens createdAt completedAt"
    " grounding { skills { skill { id } pMastery } recentMistakes profileId lesson { id } }"
)
SESSION = (
    "id studentId title status mode messageCount createdAt lastMessageAt"
    " preferences { verbosity style readingMode visualAids } skills { id } lesson { id }"
)
START = f"mutation($i: StartChatSessionInput!) {{ startChatSession(input: $i) {{ {SESSION} }} }}"
UPDATE = f"mutation($i: UpdateChatSessionInput!) {{ updateChatSession(input: $i) {{ {SESSION} }} }}"
DELETE = "mutation($id: ID!) { deleteChatSession(id: $id) }"
SEND = (
    "mutation($i: SendTutorMessageInput!) { sendTutorMessage(input: $i) {"
    f" userMessage {{ {MESSAGE} }} reply {{ {MESSAGE} }} }} }}"
)
CANCEL = f"mutation($m: ID!) {{ cancelTutorReply(messageId: $m) {{ {MESSAGE} }} }}"
GET_SESSION = f"query($s: ID!) {{ chatSession(id: $s) {{ {SESSION} }} }}"
GET_MESSAGE = f"query($m: ID!) {{ chatMessage(id: $m) {{ {MESSAGE} }} }}"
PAGE = (
    "query($s: ID!, $f: Int, $a: String, $l: Int, $b: String) { chatSession(id: $s) {"
    " messages(first: $f, after: $a, last: $l, before: $b) {"
    " edges { cursor node { id role content } } pageInfo { hasNextPage endCursor"
    " hasPreviousPage startCursor } } } }"
)
SESSIONS = (
    "query($s: ID!, $st: ChatSessionStatus, $f: Int!, $a: String) { student(id: $s) {"
    " chatSessions(status: $st, first: $f, after: $a) { edges { cursor node { id status } }"
    " pageInfo { hasNextPage endCursor } } } }"
)
REPLY = (
    "subscription($m: ID!, $a: Int!) { tutorReply(messageId: $m, afterSeq: $a) {"
    f" messageId seq kind delta error message {{ {MESSAGE} }} }} }}"
)
LEVEL = "query($s: ID!, $k: ID!) { student(id: $s) { skill(id: $k) { pMastery } } }"

LEARNER = "s-tutor"
TERMINAL = ("DONE", "ERROR")
FINAL = ("COMPLETE", "FAILED", "CANCELLED", "BLOCKED")


# --- fixtures --------------------------------------------------------------------------
# `settings` is overridden for these tests: the runtime (and every worker it builds)
# talks to the fake LLM. Parametrize `llm_key` (None: no LLM configured) or
# `tutor_overrides` (more settings) to change it for one test.


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLM]:
    async with serving_fake_llm() as server:
        yield server


@pytest.fixture
def llm_key() -> str | None:
    return "sk-test"


@pytest.fixture
def tutor_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(
    services: Services, fake: FakeLLM, llm_key: str | None, tutor_overrides: dict[str, Any]
) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": llm_key,
        "openai_base_url": fake.base_url,
        "llm_timeout": 5,
        "job_timeout": 5,
    }
    values.update(tutor_overrides)
    return make_settings(services, **values)


# --- helpers ---------------------------------------------------------------------------


def data(body: dict[str, Any], name: str) -> Any:
    assert "errors" not in body, body
    return body["data"][name]


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


def assert_error(body: dict[str, Any], code: str, field: str | None = None) -> None:
    assert error_codes(body) == [code], body
    if field is not None:
        assert error_of(body)["extensions"].get("field") == field, body


async def start(gql: GraphQLClient, token: str | None = None, **fields: Any) -> dict[str, Any]:
    auth: dict[str, Any] = {"token": token} if token else {}
    body = await gql(START, {"i": {"studentId": LEARNER, **fields}}, **auth)
    return data(body, "startChatSession")


async def send(
    gql: GraphQLClient,
    token: str,
    session_id: str,
    content: str = "How do fractions work?",
    client_id: str | None = None,
) -> dict[str, Any]:
    """The raw body of sendTutorMessage."""
    return await gql(
        SEND,
        {
            "i": {
                "sessionId": session_id,
                "content": content,
                "clientMessageId": client_id or uuid.uuid4().hex,
            }
        },
        token=token,
    )


async def sent(gql: GraphQLClient, token: str, session_id: str, *args: Any) -> dict[str, Any]:
    """The payload of a sendTutorMessage that must succeed."""
    return data(await send(gql, token, session_id, *args), "sendTutorMessage")


async def message(gql: GraphQLClient, message_id: str) -> dict[str, Any]:
    return data(await gql(GET_MESSAGE, {"m": message_id}), "chatMessage")


def admin_auth() -> dict[str, Any]:
    return {"apiKey": ADMIN_KEY}


def bearer(token: str) -> dict[str, Any]:
    return {"authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def socket(app: Any, auth: dict[str, Any] | None = None) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection, acknowledged."""
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": auth or admin_auth()})
        ack = await ws.receive_json(timeout=5)
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(ws: Any, sub_id: str, message_id: str, after_seq: int = 0) -> None:
    await ws.send_json(
        {
            "id": sub_id,
            "type": "subscribe",
            "payload": {"query": REPLY, "variables": {"m": message_id, "a": after_seq}},
        }
    )


async def collect(
    ws: Any, sub_id: str, *, seconds: float = 20.0, limit: int = 2000
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The subscription's events until it completes (or errs); returns them and the
    closing frame. Bounded by `seconds` and `limit`."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while len(events) < limit:
            frame = await ws.receive_json()
            assert frame.get("id") == sub_id, frame
            if frame["type"] != "next" or frame["payload"].get("errors"):
                return events, frame
            events.append(frame["payload"]["data"]["tutorReply"])
    raise AssertionError(f"more than {limit} events")


async def replay(
    app: Any, message_id: str, after_seq: int = 0, auth: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The events tutorReply gives after `after_seq`; the subscription must complete."""
    async with socket(app, auth) as ws:
        await subscribe(ws, "r", message_id, after_seq)
        events, end = await collect(ws, "r")
    assert end == {"id": "r", "type": "complete"}, end
    return events


def check_events(events: list[dict[str, Any]], message_id: str, first_seq: int = 1) -> None:
    """Numbered from `first_seq` with no gaps, DELTAs then one DONE or ERROR (last)."""
    assert events, "no events"
    assert [e["seq"] for e in events] == list(range(first_seq, first_seq + len(events)))
    assert all(e["messageId"] == message_id for e in events)
    *deltas, last = events
    assert all(e["kind"] == "DELTA" and e["delta"] for e in deltas), events
    assert all(e["message"] is None for e in deltas)
    assert last["kind"] in TERMINAL and last["delta"] is None, last
    assert last["message"] is not None and last["message"]["id"] == message_id


def joined(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["kind"] == "DELTA")


async def store_quiz(
    runtime: Any, questions: list[QuizQuestion], student_id: str | None = None
) -> tuple[str, list[str]]:
    """A stored quiz (made for `student_id` when given) and its question ids."""
    draft = QuizDraft("tutor", Difficulty.BEGINNER, tuple(questions))
    async with runtime.engine.begin() as conn:
        quiz_id = await quiz_rows.store_quiz(
            conn,
            task_id=f"t-{uuid.uuid4()}",
            draft=draft,
            source=ContentSource.FALLBACK,
            student_id=student_id,
        )
    rows = (await quiz_rows.questions_of(runtime.reads, [quiz_id]))[quiz_id]
    return quiz_id, [row["id"] for row in sorted(rows, key=lambda r: r["number"])]


MISTAKE_QUESTION = "Which organelle makes most of the cell's ATP?"
MISTAKE_EXPECTED = "Mitochondrion"
MISTAKE_GIVEN = "Nucleus"
PENDING_EXPECTED = "Avogadro"


async def grounded_learner(
    gql: GraphQLClient,
    runtime: Any,
    student: str,
    *,
    question: str = MISTAKE_QUESTION,
    expected: str = MISTAKE_EXPECTED,
    pending: str = PENDING_EXPECTED,
    skill: str = "Cell Biology",
) -> str:
    """The student has a wrong answer on a submitted quiz (skill `skill`) and an
    unsubmitted quiz of its own whose expected answer is `pending`; returns the id of
    the question answered wrong."""
    mc = QuizQuestion(
        1,
        question,
        QuestionType.MULTIPLE_CHOICE,
        (expected, MISTAKE_GIVEN, "Ribosome", "Golgi body"),
        skill,
        (expected,),
    )
    quiz_id, (question_id,) = await store_quiz(runtime, [mc])
    body = await gql(
        SUBMIT,
        {"q": quiz_id, "s": student, "a": [{"questionId": question_id, "values": [MISTAKE_GIVEN]}]},
    )
    assert body["data"]["submitQuiz"]["attempt"]["score"] == 0, body
    await Jobs(runtime).run()  # the jobs the submission queued: only replies are left
    open_q = QuizQuestion(
        1,
        "Whose constant counts the particles in a mole?",
        QuestionType.OPEN,
        (),
        "Chemistry",
        (pending,),
    )
    await store_quiz(runtime, [open_q], student_id=student)
    return question_id


def chats(fake: FakeLLM) -> list[dict[str, Any]]:
    """The streamed chat requests the fake got (quiz and profile jobs ask for JSON)."""
    return [r for r in fake.requests if r.get("stream")]


def prompt_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in request["messages"])


# --- sessions --------------------------------------------------------------------------


async def test_a_session_starts_with_defaults_and_takes_its_title_from_the_first_message(
    gql: GraphQLClient,
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    assert made["studentId"] == LEARNER and made["status"] == "ACTIVE"
    assert made["mode"] == "SOCRATIC" and made["id"].startswith("chat-")
    assert made["preferences"] == {
        "verbosity": 3,
        "style": "STEP_BY_STEP",
        "readingMode": "COMFORTABLE",
        "visualAids": True,
    }
    assert made["messageCount"] == 0 and made["lastMessageAt"] is None
    assert made["skills"] == [] and made["lesson"] is None

    long_first = "  " + "Why is the sky blue and the sunset red? " * 4 + "  "
    pair = await sent(gql, token, made["id"], long_first)
    assert pair["userMessage"]["content"] == long_first.strip()  # stored trimmed
    after = data(await gql(GET_SESSION, {"s": made["id"]}, token=token), "chatSession")
    assert after["title"] == long_first.strip()[:50]
    assert after["messageCount"] == 2 and after["lastMessageAt"] is not None
    await sent(gql, token, made["id"], "A second question, not the title")
    again = data(await gql(GET_SESSION, {"s": made["id"]}, token=token), "chatSession")
    assert again["title"] == long_first.strip()[:50] and again["messageCount"] == 4
    assert again["lastMessageAt"] >= after["lastMessageAt"]

    named = await start(
        gql,
        token,
        title="  Fractions  ",
        mode="EXPLAIN",
        preferences={"verbosity": 5, "style": "ANALOGY", "readingMode": "COMPACT"},
    )
    assert named["title"] == "Fractions" and named["mode"] == "EXPLAIN"
    assert named["preferences"] == {
        "verbosity": 5,
        "style": "ANALOGY",
        "readingMode": "COMPACT",
        "visualAids": True,
    }
    await sent(gql, token, named["id"], "Something else entirely")
    kept = data(await gql(GET_SESSION, {"s": named["id"]}), "chatSession")
    assert kept["title"] == "Fractions"


async def test_who_may_start_a_session(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    other = await gql(START, {"i": {"studentId": "s-someone-else"}}, token=token)
    assert_error(other, "FORBIDDEN")
    anonymous = await gql(START, {"i": {"studentId": LEARNER}}, api_key=None)
    assert_error(anonymous, "UNAUTHENTICATED")
    staff = await start(gql, studentId="s-staff-made")  # staff: for anyone
    assert staff["studentId"] == "s-staff-made"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"preferences": {"verbosity": 0}}, "BAD_USER_INPUT", "input.preferences.verbosity"),
        ({"preferences": {"verbosity": 6}}, "BAD_USER_INPUT", "input.preferences.verbosity"),
        ({"preferences": {"verbosity": -100}}, "BAD_USER_INPUT", "input.preferences.verbosity"),
        ({"title": "   "}, "BAD_USER_INPUT", "input.title"),
        ({"title": "x" * 201}, "BAD_USER_INPUT", "input.title"),
        ({"title": "a\x00b"}, "BAD_USER_INPUT", "input.title"),
        ({"skillIds": ["no-such-skill"]}, "BAD_USER_INPUT", "input.skillIds.0"),
        ({"skillIds": [f"k{n}" for n in range(21)]}, "BAD_USER_INPUT", "input.skillIds"),
        ({"lessonId": "no-such-lesson"}, "NOT_FOUND", "input.lessonId"),
        ({"studentId": ""}, "BAD_USER_INPUT", None),
        ({"studentId": "s\x00x"}, "BAD_USER_INPUT", None),
    ],
)
async def test_a_session_with_bad_input_is_refused_with_the_field_named(
    gql: GraphQLClient, fields: dict[str, Any], code: str, field: str | None
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    body = await gql(START, {"i": {"studentId": LEARNER, **fields}}, token=token)
    assert_error(body, code, field)
    staff = await gql(START, {"i": {"studentId": LEARNER, **fields}})
    assert_error(staff, code, field)


async def test_a_session_focuses_on_known_skills(gql: GraphQLClient, runtime: Any) -> None:
    await grounded_learner(gql, runtime, LEARNER)
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token, skillIds=["cell-biology", "cell-biology"])
    assert made["skills"] == [{"id": "cell-biology"}]  # once, though given twice


async def test_the_owner_renames_archives_and_lists_sessions(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    first = await start(gql, token, title="one")
    second = await start(gql, token, title="two")
    third = await start(gql, token, title="three")

    changed = data(
        await gql(
            UPDATE,
            {
                "i": {
                    "id": first["id"],
                    "title": "renamed",
                    "preferences": {"verbosity": 1, "visualAids": False},
                }
            },
            token=token,
        ),
        "updateChatSession",
    )
    assert changed["title"] == "renamed" and changed["status"] == "ACTIVE"
    assert changed["preferences"]["verbosity"] == 1
    assert changed["preferences"]["visualAids"] is False
    bad = await gql(
        UPDATE, {"i": {"id": first["id"], "preferences": {"verbosity": 9}}}, token=token
    )
    assert_error(bad, "BAD_USER_INPUT", "input.preferences.verbosity")
    assert_error(
        await gql(UPDATE, {"i": {"id": first["id"], "title": " "}}, token=token),
        "BAD_USER_INPUT",
        "input.title",
    )
    staff = await gql(UPDATE, {"i": {"id": first["id"], "title": "staff"}})
    assert_error(staff, "FORBIDDEN")  # staff read, never change
    missing = await gql(UPDATE, {"i": {"id": "chat-nope", "title": "x"}}, token=token)
    assert_error(missing, "NOT_FOUND")

    archived = data(
        await gql(UPDATE, {"i": {"id": second["id"], "status": "ARCHIVED"}}, token=token),
        "updateChatSession",
    )
    assert archived["status"] == "ARCHIVED" and archived["title"] == "two"
    refused = await send(gql, token, second["id"])
    assert_error(refused, "BAD_USER_INPUT", "input.sessionId")

    async def listed(status: str | None, first_n: int = 20, after: str | None = None) -> Any:
        body = await gql(SESSIONS, {"s": LEARNER, "st": status, "f": first_n, "a": after})
        return data(body, "student")["chatSessions"]

    active = await listed("ACTIVE")
    assert [e["node"]["id"] for e in active["edges"]] == [third["id"], first["id"]]  # newest first
    assert [e["node"]["id"] for e in (await listed("ARCHIVED"))["edges"]] == [second["id"]]
    everything = await listed(None)
    assert [e["node"]["id"] for e in everything["edges"]] == [
        third["id"],
        second["id"],
        first["id"],
    ]
    page = await listed(None, 2)
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await listed(None, 2, page["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in rest["edges"]] == [first["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    own = await gql(SESSIONS, {"s": LEARNER, "st": None, "f": 20, "a": None}, token=token)
    assert len(data(own, "student")["chatSessions"]["edges"]) == 3


async def test_deleting_a_session_removes_its_messages(gql: GraphQLClient, jobs: Jobs) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    pair = await sent(gql, token, made["id"])
    await jobs.run()
    other_token = await learner_token(gql, "o@example.org", "s-other")
    assert_error(await gql(DELETE, {"id": made["id"]}, token=other_token), "FORBIDDEN")
    assert_error(await gql(DELETE, {"id": made["id"]}), "FORBIDDEN")  # staff: owner only
    assert (
        data(await gql(DELETE, {"id": made["id"]}, token=token), "deleteChatSession")
        == (made["id"])
    )
    assert data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession") is None
    for m in (pair["userMessage"]["id"], pair["reply"]["id"]):
        assert data(await gql(GET_MESSAGE, {"m": m}), "chatMessage") is None
    assert_error(await gql(DELETE, {"id": made["id"]}, token=token), "NOT_FOUND")


async def test_deleting_a_session_with_a_pending_reply_leaves_no_job_behind(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    await sent(gql, token, made["id"])
    await gql(DELETE, {"id": made["id"]}, token=token)
    assert await jobs.run() == 1  # the job runs and finds nothing to reply to
    assert fake.requests == []


# --- access ----------------------------------------------------------------------------


async def test_only_the_owner_posts_staff_read_and_other_learners_see_nothing(
    gql: GraphQLClient, jobs: Jobs, app: Any
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    other = await learner_token(gql, "o@example.org", "s-other")
    made = await start(gql, token)
    pair = await sent(gql, token, made["id"])
    reply_id, user_id = pair["reply"]["id"], pair["userMessage"]["id"]

    # Another learner: nothing at all.
    assert_error(await gql(GET_SESSION, {"s": made["id"]}, token=other), "FORBIDDEN")
    assert_error(await gql(GET_MESSAGE, {"m": reply_id}, token=other), "FORBIDDEN")
    assert_error(await gql(GET_MESSAGE, {"m": user_id}, token=other), "FORBIDDEN")
    listed = await gql(SESSIONS, {"s": LEARNER, "st": None, "f": 5, "a": None}, token=other)
    assert_error(listed, "FORBIDDEN")
    assert_error(await send(gql, other, made["id"]), "FORBIDDEN")
    assert_error(await gql(CANCEL, {"m": reply_id}, token=other), "FORBIDDEN")
    assert_error(
        await gql(UPDATE, {"i": {"id": made["id"], "status": "ARCHIVED"}}, token=other),
        "FORBIDDEN",
    )
    async with socket(app, bearer(other)) as ws:
        await subscribe(ws, "x", reply_id)
        events, end = await collect(ws, "x")
    assert events == [] and end["type"] in ("next", "error"), end
    errors = end["payload"]["errors"] if end["type"] == "next" else end["payload"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]

    # Nobody signed in.
    assert_error(await gql(GET_SESSION, {"s": made["id"]}, api_key=None), "UNAUTHENTICATED")
    assert_error(await gql(GET_MESSAGE, {"m": reply_id}, api_key=None), "UNAUTHENTICATED")

    # Staff read everything, never post or cancel.
    read = data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession")
    assert read["messageCount"] == 2
    assert (await message(gql, reply_id))["status"] == "PENDING"
    staff_send = await gql(
        SEND, {"i": {"sessionId": made["id"], "content": "hi", "clientMessageId": "staff"}}
    )
    assert_error(staff_send, "FORBIDDEN")
    assert_error(await gql(CANCEL, {"m": reply_id}), "FORBIDDEN")
    assert (await message(gql, reply_id))["status"] == "PENDING"  # the refusals changed nothing
    assert data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession")["messageCount"] == 2

    await jobs.run()
    staff_events = await replay(app, reply_id)
    own_events = await replay(app, reply_id, auth=bearer(token))
    assert staff_events == own_events
    check_events(own_events, reply_id)

    # Unknown ids.
    assert data(await gql(GET_SESSION, {"s": "chat-nope"}, token=token), "chatSession") is None
    assert data(await gql(GET_MESSAGE, {"m": "msg-nope"}, token=token), "chatMessage") is None
    assert_error(await send(gql, token, "chat-nope"), "NOT_FOUND", "input.sessionId")
    assert_error(await gql(CANCEL, {"m": "msg-nope"}, token=token), "NOT_FOUND", "messageId")
    # Only a reply can be cancelled.
    assert_error(await gql(CANCEL, {"m": user_id}, token=token), "BAD_USER_INPUT", "messageId")


# --- sending ---------------------------------------------------------------------------


async def test_a_message_stores_a_pair_and_queues_one_reply_once_per_client_id(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    pair = await sent(gql, token, made["id"], "  What is a denominator?  ", "client-1")
    user, reply = pair["userMessage"], pair["reply"]
    assert user["role"] == "USER" and user["status"] == "COMPLETE"
    assert user["content"] == "What is a denominator?" and user["source"] is None
    assert user["completedAt"] is not None and user["sessionId"] == made["id"]
    assert reply["role"] == "ASSISTANT" and reply["status"] == "PENDING"
    assert reply["content"] == "" and reply["replyTo"] == user["id"]
    assert reply["completedAt"] is None and reply["guardrails"] == []
    assert reply["id"].startswith("msg-") and reply["id"] != user["id"]

    # The same client id again (even with other content): the first pair, no new job.
    again = await sent(gql, token, made["id"], "Something different", "client-1")
    assert again["userMessage"]["id"] == user["id"] and again["reply"]["id"] == reply["id"]
    assert again["userMessage"]["content"] == "What is a denominator?"
    assert await jobs.run() == 1
    assert len(fake.requests) == 1
    # Once replied, the same id still gives the pair, now with its final reply.
    done = await sent(gql, token, made["id"], "What is a denominator?", "client-1")
    assert done["reply"]["id"] == reply["id"] and done["reply"]["status"] == "COMPLETE"
    assert await jobs.run() == 0
    session = data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession")
    assert session["messageCount"] == 2

    # A client id is per session: the same id in another session is a new message.
    other = await start(gql, token)
    elsewhere = await sent(gql, token, other["id"], "What is a denominator?", "client-1")
    assert elsewhere["userMessage"]["id"] != user["id"]
    assert await jobs.run() == 1


async def test_two_sends_at_once_with_one_client_id_make_one_pair(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    for round_ in range(3):
        bodies = await asyncio.gather(
            *(
                send(gql, token, made["id"], f"Same question {round_}", f"same-{round_}")
                for _ in range(4)
            )
        )
        pairs = [data(b, "sendTutorMessage") for b in bodies]
        assert len({p["userMessage"]["id"] for p in pairs}) == 1, pairs
        assert len({p["reply"]["id"] for p in pairs}) == 1, pairs
    session = data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession")
    assert session["messageCount"] == 6
    page = data(await gql(PAGE, {"s": made["id"], "f": 50}), "chatSession")["messages"]
    assert len(page["edges"]) == 6
    assert await jobs.run() == 3
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("content", "client_id", "field"),
    [
        ("x" * 4001, "c", "input.content"),
        ("  " + "x" * 4001, "c", "input.content"),
        ("", "c", "input.content"),
        ("   \n\t  ", "c", "input.content"),
        ("\x00", "c", "input.content"),
        ("fine\x00text", "c", "input.content"),
        ("fine", "", "input.clientMessageId"),
        ("fine", "   ", "input.clientMessageId"),
        ("fine", "c" * 129, "input.clientMessageId"),
        ("fine", "c\x00d", "input.clientMessageId"),
    ],
)
async def test_hostile_messages_are_bad_user_input_and_store_nothing(
    gql: GraphQLClient, jobs: Jobs, content: str, client_id: str, field: str
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    body = await gql(
        SEND,
        {"i": {"sessionId": made["id"], "content": content, "clientMessageId": client_id}},
        token=token,
    )
    assert_error(body, "BAD_USER_INPUT", field)
    assert "INTERNAL_SERVER_ERROR" not in error_codes(body)
    session = data(await gql(GET_SESSION, {"s": made["id"]}), "chatSession")
    assert session["messageCount"] == 0 and session["title"] == "New chat"
    assert await jobs.run() == 0


async def test_the_longest_message_is_taken_after_trimming(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    longest = "é" * 4000  # characters, not bytes
    pair = await sent(gql, token, made["id"], f"\n  {longest}  \n")
    assert pair["userMessage"]["content"] == longest
    assert pair["reply"]["status"] == "PENDING"
    other = await sent(gql, token, made["id"], "emoji 🧮 and\u202eRTL")
    assert other["userMessage"]["content"] == "emoji 🧮 and\u202eRTL"


@pytest.mark.parametrize("tutor_overrides", [{"tutor_messages_per_minute": 3}])
async def test_messages_are_rate_limited_per_student(gql: GraphQLClient, jobs: Jobs) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    first = await start(gql, token)
    second = await start(gql, token)
    await sent(gql, token, first["id"], "one", "c-1")
    await sent(gql, token, second["id"], "two", "c-2")  # per student, across sessions
    await sent(gql, token, first["id"], "three", "c-3")
    limited = await send(gql, token, second["id"], "four", "c-4")
    assert_error(limited, "RATE_LIMITED")
    retry_after = error_of(limited)["extensions"]["retryAfter"]
    assert isinstance(retry_after, int | float) and 0 < retry_after <= 60
    # The refused message is not stored; a repeat of a known one is still answered.
    again = await sent(gql, token, first["id"], "one", "c-1")
    assert again["userMessage"]["content"] == "one"
    assert data(await gql(GET_SESSION, {"s": second["id"]}), "chatSession")["messageCount"] == 2
    assert await jobs.run() == 3
    # Another learner has a budget of its own.
    other = await learner_token(gql, "o@example.org", "s-other")
    theirs = data(
        await gql(START, {"i": {"studentId": "s-other"}}, token=other), "startChatSession"
    )
    await sent(gql, other, theirs["id"], "mine", "c-1")


@pytest.mark.parametrize(
    "tutor_overrides", [{"tutor_blocked_terms": "cheat sheet, Forbidden Word"}]
)
async def test_a_blocked_term_blocks_the_message_before_any_model_call(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    pair = await sent(gql, token, made["id"], "Can you write me a CHEAT   Sheet for the test?")
    reply = pair["reply"]
    assert reply["status"] == "BLOCKED" and reply["source"] == "FALLBACK"
    assert reply["content"] and reply["completedAt"] is not None
    assert [g["kind"] for g in reply["guardrails"]] == ["MODERATION"]
    assert "cheat sheet" in reply["guardrails"][0]["message"]
    assert pair["userMessage"]["status"] == "COMPLETE"
    assert await jobs.run() == 0
    assert fake.requests == []

    # Its subscription ends at once with DONE and the stored message.
    async with asyncio.timeout(5):
        events = await replay(app, reply["id"], auth=bearer(token))
    assert len(events) == 1
    (done,) = events
    assert done["seq"] == 1 and done["kind"] == "DONE"
    assert done["message"]["status"] == "BLOCKED"
    assert done["message"]["content"] == reply["content"]

    # Whole words only: "cheating sheets" is not the term.
    fine = await sent(gql, token, made["id"], "Is cheating sheets a thing? forbidden words?")
    assert fine["reply"]["status"] == "PENDING"
    assert await jobs.run() == 1
    second = await sent(gql, token, made["id"], "say the forbidden word")
    assert second["reply"]["status"] == "BLOCKED"
    assert await jobs.run() == 0
    assert len(fake.requests) == 1


# --- paging ----------------------------------------------------------------------------


async def _paged_session(gql: GraphQLClient, token: str, count: int) -> tuple[str, list[str]]:
    made = await start(gql, token)
    ids = []
    for n in range(count):
        pair = await sent(gql, token, made["id"], f"question {n}")
        ids += [pair["userMessage"]["id"], pair["reply"]["id"]]
    return made["id"], ids


async def page(gql: GraphQLClient, session_id: str, **args: Any) -> dict[str, Any]:
    variables = {"s": session_id, "f": args.get("first"), "a": args.get("after")}
    variables |= {"l": args.get("last"), "b": args.get("before")}
    return data(await gql(PAGE, variables), "chatSession")["messages"]


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_messages_page_forwards_from_the_oldest(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    session_id, made = await _paged_session(gql, token, 4)  # 8 messages
    everything = await page(gql, session_id)
    ids = sorted(made)  # ids sort by creation (see the xfail test below for a pair's order)
    assert ids_of(everything) == ids

    seen: list[str] = []
    after = None
    for _ in range(10):
        current = await page(gql, session_id, first=3, after=after)
        seen += ids_of(current)
        if not current["pageInfo"]["hasNextPage"]:
            break
        after = current["pageInfo"]["endCursor"]
        assert after == current["edges"][-1]["cursor"]
    assert seen == ids
    assert len(ids_of(await page(gql, session_id, first=3))) == 3
    last_page = await page(gql, session_id, first=3, after=everything["edges"][-1]["cursor"])
    assert last_page["edges"] == [] and last_page["pageInfo"]["hasNextPage"] is False


async def test_messages_page_backwards_from_the_newest(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    session_id, made = await _paged_session(gql, token, 4)  # 8 messages
    ids = sorted(made)
    newest = await page(gql, session_id, last=3)
    assert ids_of(newest) == ids[-3:]  # shown oldest first
    before = newest["edges"][0]["cursor"]
    older = await page(gql, session_id, last=3, before=before)
    assert ids_of(older) == ids[-6:-3]
    oldest = await page(gql, session_id, last=3, before=older["edges"][0]["cursor"])
    assert ids_of(oldest) == ids[:2]
    nothing = await page(gql, session_id, last=3, before=oldest["edges"][0]["cursor"])
    assert nothing["edges"] == []
    # Between two cursors.
    window = await page(
        gql,
        session_id,
        first=10,
        after=older["edges"][0]["cursor"],
        before=newest["edges"][-1]["cursor"],
    )
    assert ids_of(window) == ids[-5:-1]


async def test_paging_back_says_whether_older_messages_remain(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    session_id, made = await _paged_session(gql, token, 4)
    ids = sorted(made)
    newest = await page(gql, session_id, last=3)
    assert ids_of(newest) == ids[-3:]
    info = newest["pageInfo"]
    assert info["hasPreviousPage"] is True  # five older messages remain
    assert info["hasNextPage"] is False  # nothing newer: no `before` was given
    assert info["startCursor"] == newest["edges"][0]["cursor"]
    older = await page(gql, session_id, last=3, before=info["startCursor"])
    assert older["pageInfo"]["hasNextPage"] is True and older["pageInfo"]["hasPreviousPage"]
    everything = await page(gql, session_id, last=8)
    assert everything["pageInfo"]["hasPreviousPage"] is False


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"first": 2, "last": 2}, "last"),
        ({"first": -1}, None),
        ({"first": 100_000}, None),
        ({"after": "not-a-cursor"}, None),
        ({"before": "\x00"}, None),
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    gql: GraphQLClient, args: dict[str, Any], field: str | None
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    session_id, _ = await _paged_session(gql, token, 1)
    variables = {"s": session_id, "f": args.get("first"), "a": args.get("after")}
    variables |= {"l": args.get("last"), "b": args.get("before")}
    body = await gql(PAGE, variables)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    if field is not None:
        assert error_of(body)["extensions"]["field"] == field


# --- replies (burst worker) ------------------------------------------------------------


async def test_an_llm_reply_is_grounded_stored_with_usage_and_streamed_whole(
    gql: GraphQLClient, runtime: Any, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    question_id = await grounded_learner(gql, runtime, LEARNER)
    # Another learner's data must never reach this learner's prompt.
    await grounded_learner(
        gql,
        runtime,
        "s-other",
        question="Secret question of the other learner?",
        expected="Zanzibar",
        pending="Kilimanjaro",
        skill="Other Skill",
    )
    level = data(await gql(LEVEL, {"s": LEARNER, "k": "cell-biology"}), "student")["skill"]
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token, skillIds=["cell-biology"])
    pair = await sent(gql, token, made["id"], "Why do cells need energy?")
    reply_id = pair["reply"]["id"]
    assert await jobs.run() == 1

    stored = await message(gql, reply_id)
    assert stored["status"] == "COMPLETE" and stored["source"] == "LLM"
    assert stored["content"] == fake.reply and stored["completedAt"] is not None
    assert stored["guardrails"] == []
    (request,) = chats(fake)
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert stored["model"] == runtime.settings.llm_model == request["model"]
    # The fake's usage: prompt characters / 4, one completion token per piece.
    expected_prompt = sum(len(str(m.get("content", ""))) for m in request["messages"]) // 4
    assert stored["promptTokens"] == expected_prompt > 0
    assert stored["completionTokens"] == fake.chunks

    grounding = stored["grounding"]
    assert grounding["skills"] == [
        {"skill": {"id": "cell-biology"}, "pMastery": pytest.approx(level["pMastery"])}
    ]
    assert grounding["recentMistakes"] == [question_id]
    assert grounding["lesson"] is None
    profile = data(
        await gql("query($s: ID!) { student(id: $s) { profile { id summary } } }", {"s": LEARNER}),
        "student",
    )["profile"]
    if profile is not None:  # the submission's profile job wrote one
        assert grounding["profileId"] == profile["id"]

    system, *rest = request["messages"]
    assert system["role"] == "system"
    assert "Cell Biology" in system["content"]
    assert f"{round(level['pMastery'] * 100)}%" in system["content"]
    assert MISTAKE_QUESTION in system["content"] and MISTAKE_GIVEN in system["content"]
    assert rest == [{"role": "user", "content": "Why do cells need energy?"}]
    everything = prompt_text(request)
    for secret in (MISTAKE_EXPECTED, PENDING_EXPECTED):
        assert secret not in everything  # never an expected answer
    for theirs in ("Secret question", "Zanzibar", "Kilimanjaro", "Other Skill"):
        assert theirs not in everything

    events = await replay(app, reply_id, auth=bearer(token))
    check_events(events, reply_id)
    assert events[-1]["kind"] == "DONE"
    assert joined(events) == stored["content"]
    assert events[-1]["message"] == stored


async def test_without_a_focus_the_reply_is_grounded_on_the_weakest_levels(
    gql: GraphQLClient, runtime: Any, jobs: Jobs, fake: FakeLLM
) -> None:
    question_id = await grounded_learner(gql, runtime, LEARNER)
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    pair = await sent(gql, token, made["id"], "Tell me about cell biology please")
    await jobs.run()
    stored = await message(gql, pair["reply"]["id"])
    assert [s["skill"]["id"] for s in stored["grounding"]["skills"]] == ["cell-biology"]
    assert stored["grounding"]["recentMistakes"] == [question_id]
    (request,) = chats(fake)
    assert PENDING_EXPECTED not in prompt_text(request)


@pytest.mark.parametrize("llm_key", [None])
async def test_with_no_llm_configured_the_fallback_reply_is_streamed(
    gql: GraphQLClient, runtime: Any, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    await grounded_learner(gql, runtime, LEARNER)
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token, skillIds=["cell-biology"])
    pair = await sent(gql, token, made["id"], "Help me with cells")
    assert await jobs.run() == 1
    assert fake.requests == []
    stored = await message(gql, pair["reply"]["id"])
    assert stored["status"] == "COMPLETE" and stored["source"] == "FALLBACK"
    assert stored["content"].rstrip().endswith("?")
    assert "Cell Biology" in stored["content"]
    assert MISTAKE_QUESTION in stored["content"]  # the Socratic fallback recalls the mistake
    assert MISTAKE_EXPECTED not in stored["content"]
    assert PENDING_EXPECTED not in stored["content"]
    assert stored["model"] is None and stored["promptTokens"] is None
    assert stored["completionTokens"] is None
    assert stored["grounding"]["skills"][0]["skill"]["id"] == "cell-biology"
    events = await replay(app, pair["reply"]["id"])
    check_events(events, pair["reply"]["id"])
    assert len(events) > 2  # streamed in pieces, as an LLM reply is
    assert joined(events) == stored["content"]
    assert events[-1]["kind"] == "DONE" and events[-1]["message"] == stored


async def test_fallback_replies_never_go_back_to_the_model_as_assistant_turns(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    fake.script = [ERROR, ERROR, ERROR]  # the first reply: every try of the call fails
    first = await sent(gql, token, made["id"], "first question")
    await jobs.run()
    fallback = await message(gql, first["reply"]["id"])
    assert fallback["source"] == "FALLBACK" and fallback["status"] == "COMPLETE"
    assert fake.script == []  # the client's retries used the script up

    fake.mode = GOOD
    fake.requests.clear()
    second = await sent(gql, token, made["id"], "second question")
    await jobs.run()
    (request,) = fake.requests
    turns = [(m["role"], m["content"]) for m in request["messages"][1:]]
    assert turns == [("user", "first question"), ("user", "second question")]
    assert fallback["content"] not in prompt_text(request)

    fake.requests.clear()
    await sent(gql, token, made["id"], "third question")
    await jobs.run()
    llm_reply = await message(gql, second["reply"]["id"])
    assert llm_reply["source"] == "LLM"
    (request,) = fake.requests
    turns = [(m["role"], m["content"]) for m in request["messages"][1:]]
    # (The order of a question and its reply is the xfail tests' business below.)
    assert sorted(turns) == sorted(
        [
            ("user", "first question"),
            ("user", "second question"),
            ("assistant", llm_reply["content"]),
            ("user", "third question"),
        ]
    )
    assert turns[-1] == ("user", "third question")


async def test_blocked_replies_never_go_back_to_the_model(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, runtime: Any
) -> None:
    runtime.settings.tutor_blocked_terms.append("nonsense")
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    blocked = await sent(gql, token, made["id"], "some nonsense")
    assert blocked["reply"]["status"] == "BLOCKED"
    await sent(gql, token, made["id"], "a real question")
    await jobs.run()
    (request,) = fake.requests
    assert blocked["reply"]["content"] not in prompt_text(request)
    assert all(m["role"] != "assistant" for m in request["messages"])


async def test_a_long_history_is_cut_to_the_budget_keeping_the_newest_turns(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    for n in range(6):
        await sent(gql, token, made["id"], f"turn {n} " + "y" * 3000)
        await jobs.run()
    fake.requests.clear()
    await sent(gql, token, made["id"], "the newest question")
    await jobs.run()
    (request,) = fake.requests
    total = sum(len(m["content"]) for m in request["messages"])
    assert total // 4 <= 3000 + 200  # the history budget (tokens ~ characters / 4)
    assert request["messages"][-1] == {"role": "user", "content": "the newest question"}
    kept = [m["content"] for m in request["messages"][1:-1]]
    assert len(kept) < 12
    # The newest turns, whole (in either order until the pair-order xfail is fixed).
    newest = sorted(kept[-2:], key=len)
    assert newest[0] == fake.reply and newest[1].startswith("turn 5 ")
    assert all(turn.startswith("turn ") or turn == fake.reply for turn in kept)


async def test_a_reply_sorts_right_after_the_message_it_answers(gql: GraphQLClient) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    pairs = [await sent(gql, token, made["id"], f"question {n}") for n in range(20)]
    expected = [m for p in pairs for m in (p["userMessage"]["id"], p["reply"]["id"])]
    listed = await page(gql, made["id"], first=50)
    assert [e["node"]["role"] for e in listed["edges"]] == ["USER", "ASSISTANT"] * 20
    assert ids_of(listed) == expected


async def test_history_goes_back_to_the_model_in_conversation_order(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM
) -> None:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token)
    for n in range(12):
        await sent(gql, token, made["id"], f"q{n}")
    await jobs.run()
    fake.requests.clear()
    await sent(gql, token, made["id"], "last")
    await jobs.run()
    (request,) = fake.requests
    roles = [m["role"] for m in request["messages"][1:]]
    assert roles == ["user", "assistant"] * 12 + ["user"]
