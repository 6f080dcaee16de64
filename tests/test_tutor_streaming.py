"""Streamed tutor replies: the numbered events of `tutorReply`, their replay, coalescing,
cancelling, the fallbacks when the model breaks or fails, the answer-leak guard, and
replies across processes (the subscriber on one API process, the worker on another; a
worker killed mid-reply)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from learntwin_graphql.runtime import Runtime
from ml.tutor_fallback import fallback_reply
from tests import test_tutor
from tests.conftest import (
    ADMIN_KEY,
    PROTOCOL,
    GraphQLClient,
    Jobs,
    Services,
    free_port,
    learner_token,
)
from tests.fake_llm import BREAK, ERROR, GOOD, LEAK, STALL, FakeLLM, _pieces
from tests.test_tutor import (
    CANCEL,
    LEARNER,
    PENDING_EXPECTED,
    bearer,
    chats,
    check_events,
    collect,
    data,
    grounded_learner,
    joined,
    message,
    replay,
    sent,
    socket,
    start,
    subscribe,
)
from tests.test_worker_crash import REPO, WorkerProcesses, worker_env
from workers import tutor_events
from workers.keys import tutor_stream

# The fixtures of tests/test_tutor.py: the runtime (and its workers) talk to the fake LLM.
fake = test_tutor.fake
llm_key = test_tutor.llm_key
settings = test_tutor.settings
tutor_overrides = test_tutor.tutor_overrides


async def learner_session(gql: GraphQLClient, **fields: Any) -> tuple[str, str]:
    token = await learner_token(gql, "t@example.org", LEARNER)
    made = await start(gql, token, **fields)
    return token, made["id"]


async def wait_for_deltas(ws: Any, sub_id: str, count: int, seconds: float = 20) -> list[Any]:
    """The first `count` events of a live subscription (all DELTAs)."""
    events = []
    async with asyncio.timeout(seconds):
        while len(events) < count:
            frame = await ws.receive_json()
            assert frame["id"] == sub_id and frame["type"] == "next", frame
            event = frame["payload"]["data"]["tutorReply"]
            assert event["kind"] == "DELTA", event
            events.append(event)
    return events


# --- replay ----------------------------------------------------------------------------


async def test_replay_after_every_seq_gives_exactly_the_remaining_events(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.chunk_delay = 0.06  # every chunk is flushed on its own: many events
    pair = await sent(gql, token, session_id, "Explain fractions")
    reply_id = pair["reply"]["id"]
    await jobs.run()
    stored = await message(gql, reply_id)
    assert stored["status"] == "COMPLETE" and stored["source"] == "LLM"

    events = await replay(app, reply_id, auth=bearer(token))
    check_events(events, reply_id)
    assert len(events) >= 6, events
    assert events[-1]["kind"] == "DONE" and events[-1]["message"] == stored
    assert joined(events) == stored["content"] == fake.reply
    async with socket(app, bearer(token)) as ws:
        for after in range(len(events)):
            await subscribe(ws, f"s{after}", reply_id, after)
            remaining, end = await collect(ws, f"s{after}", seconds=10)
            assert end == {"id": f"s{after}", "type": "complete"}, (after, end)
            assert remaining == events[after:], after


async def test_subscribing_after_the_last_event_completes_with_nothing_more(
    gql: GraphQLClient, jobs: Jobs, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    pair = await sent(gql, token, session_id, "Explain fractions")
    await jobs.run()
    events = await replay(app, pair["reply"]["id"])
    for after in (len(events), len(events) + 5):
        async with socket(app) as ws:
            await subscribe(ws, "late", pair["reply"]["id"], after)
            remaining, end = await collect(ws, "late", seconds=8)
        assert end == {"id": "late", "type": "complete"} and remaining == [], (after, end)


async def test_a_final_reply_whose_stream_is_gone_gets_done_at_once(
    gql: GraphQLClient, jobs: Jobs, runtime: Runtime, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    pair = await sent(gql, token, session_id, "Explain fractions")
    await jobs.run()
    await runtime.redis.delete(tutor_stream(pair["reply"]["id"]))  # expired
    async with asyncio.timeout(5):
        events = await replay(app, pair["reply"]["id"], auth=bearer(token))
    (done,) = events
    assert done["seq"] == 1 and done["kind"] == "DONE"
    assert done["message"]["status"] == "COMPLETE" and done["message"]["content"]


async def test_the_subscription_refuses_bad_arguments(gql: GraphQLClient, app: Any) -> None:
    token, session_id = await learner_session(gql)
    pair = await sent(gql, token, session_id)
    for variables, code in (
        ((pair["reply"]["id"], -1), "BAD_USER_INPUT"),
        (("msg-nope", 0), "NOT_FOUND"),
    ):
        async with socket(app, bearer(token)) as ws:
            await subscribe(ws, "bad", *variables)
            events, end = await collect(ws, "bad", seconds=5)
        assert events == []
        errors = end["payload"]["errors"] if end["type"] == "next" else end["payload"]
        assert [e["extensions"]["code"] for e in errors] == [code], end


# --- coalescing and live following -----------------------------------------------------


async def test_deltas_are_coalesced_the_first_at_once(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.chunks = 1000  # one or two characters a chunk, with no delay between them
    pair = await sent(gql, token, session_id)
    await jobs.run()
    events = await replay(app, pair["reply"]["id"])
    check_events(events, pair["reply"]["id"])
    deltas = [e["delta"] for e in events[:-1]]
    pieces = _pieces(fake.reply, fake.chunks)
    assert deltas[0] == pieces[0]  # the first piece is sent at once, alone
    assert len(deltas) < len(pieces) / 4, deltas  # the rest in batches
    assert all(len(d) >= 32 for d in deltas[1:-1]) or len(deltas) <= 3
    assert "".join(deltas) == fake.reply


async def test_a_subscriber_follows_a_reply_as_it_is_written(
    gql: GraphQLClient, runtime: Runtime, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.chunk_delay = 0.15
    pair = await sent(gql, token, session_id, "Live please")
    reply_id = pair["reply"]["id"]
    async with socket(app, bearer(token)) as ws:
        await subscribe(ws, "live", reply_id)  # before any worker: the reply is PENDING
        await asyncio.sleep(0.2)
        runtime.start_worker()
        first = await wait_for_deltas(ws, "live", 2)
        # While it streams, the stored message holds at least the text sent so far.
        streaming = await message(gql, reply_id)
        assert streaming["status"] == "STREAMING"
        assert streaming["content"].startswith(joined(first))
        assert len(streaming["content"]) < len(fake.reply)
        rest, end = await collect(ws, "live", seconds=20)
    assert end == {"id": "live", "type": "complete"}
    events = first + rest
    check_events(events, reply_id)
    assert events[-1]["kind"] == "DONE"
    stored = await message(gql, reply_id)
    assert joined(events) == stored["content"] == fake.reply
    assert events[-1]["message"] == stored
    # A late subscriber gets the same events replayed.
    assert await replay(app, reply_id) == events


# --- fallbacks -------------------------------------------------------------------------


async def test_an_llm_failing_before_any_text_gives_the_fallback_streamed_whole(
    gql: GraphQLClient, runtime: Runtime, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    await grounded_learner(gql, runtime, LEARNER)
    token, session_id = await learner_session(gql, skillIds=["cell-biology"])
    fake.mode = ERROR
    pair = await sent(gql, token, session_id, "Help with cells")
    await jobs.run()
    assert len(chats(fake)) == 3  # the first call and the client's two retries
    stored = await message(gql, pair["reply"]["id"])
    assert stored["status"] == "COMPLETE" and stored["source"] == "FALLBACK"
    assert "Cell Biology" in stored["content"] and stored["content"].rstrip().endswith("?")
    assert stored["grounding"]["skills"][0]["skill"]["id"] == "cell-biology"
    assert stored["guardrails"] == [] and stored["completionTokens"] is None
    events = await replay(app, pair["reply"]["id"])
    check_events(events, pair["reply"]["id"])
    assert len(events) > 2 and events[-1]["kind"] == "DONE"
    assert joined(events) == stored["content"]


async def test_a_stream_breaking_after_three_chunks_fails_with_the_fallback(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.mode = BREAK
    fake.chunk_delay = 0.1
    pair = await sent(gql, token, session_id, "Break please")
    reply_id = pair["reply"]["id"]
    await jobs.run()
    stored = await message(gql, reply_id)
    assert stored["status"] == "FAILED" and stored["source"] == "FALLBACK"
    assert stored["content"] == fallback_reply("SOCRATIC", _no_grounding(), "Break please")
    assert stored["completedAt"] is not None
    assert len(chats(fake)) == 1  # no retry once text has flowed
    events = await replay(app, reply_id)
    check_events(events, reply_id)
    *deltas, last = events
    assert last["kind"] == "ERROR" and last["error"]
    assert last["message"]["status"] == "FAILED"
    assert last["message"]["content"] == stored["content"]
    # What was streamed is (a coalesced prefix of) the model's first three chunks.
    three = "".join(_pieces(fake.reply, fake.chunks)[:3])
    assert deltas and three.startswith(joined(events)), (three, joined(events))


@pytest.mark.parametrize("tutor_overrides", [{"llm_timeout": 1}])
async def test_a_stalled_stream_fails_with_the_fallback(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.mode = STALL
    pair = await sent(gql, token, session_id, "Stall please")
    async with asyncio.timeout(15):
        await jobs.run()
    stored = await message(gql, pair["reply"]["id"])
    assert stored["status"] == "FAILED" and stored["source"] == "FALLBACK"
    events = await replay(app, pair["reply"]["id"])
    check_events(events, pair["reply"]["id"])
    assert [e["kind"] for e in events] == ["DELTA", "ERROR"]
    assert events[0]["delta"] == _pieces(fake.reply, fake.chunks)[0]
    assert events[-1]["message"]["content"] == stored["content"]


@pytest.mark.parametrize("tutor_overrides", [{"llm_timeout": 1}])
async def test_a_stall_before_any_text_gives_the_fallback(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    """The model answers, then says nothing before its first chunk: no text was sent, so
    the learner still gets a COMPLETE fallback."""
    token, session_id = await learner_session(gql)
    fake.mode = "hang"
    pair = await sent(gql, token, session_id, "Hang please")
    async with asyncio.timeout(30):
        await jobs.run()
    stored = await message(gql, pair["reply"]["id"])
    assert stored["status"] == "COMPLETE" and stored["source"] == "FALLBACK"
    events = await replay(app, pair["reply"]["id"])
    check_events(events, pair["reply"]["id"])
    assert joined(events) == stored["content"]


def _no_grounding() -> Any:
    from ml.tutor import Grounding

    return Grounding()


# --- cancel ----------------------------------------------------------------------------


async def test_cancelling_mid_stream_keeps_the_text_so_far(
    gql: GraphQLClient, runtime: Runtime, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    fake.chunks, fake.chunk_delay = 20, 0.2
    pair = await sent(gql, token, session_id, "A long answer please")
    reply_id = pair["reply"]["id"]
    runtime.start_worker()
    async with socket(app, bearer(token)) as ws:
        await subscribe(ws, "c", reply_id)
        first = await wait_for_deltas(ws, "c", 2)
        cancelled = data(await gql(CANCEL, {"m": reply_id}, token=token), "cancelTutorReply")
        assert cancelled["status"] == "CANCELLED" and cancelled["completedAt"] is not None
        rest, end = await collect(ws, "c", seconds=10)
    assert end == {"id": "c", "type": "complete"}
    events = first + rest
    check_events(events, reply_id)
    assert events[-1]["kind"] == "DONE"
    assert events[-1]["message"]["status"] == "CANCELLED"
    await asyncio.sleep(0.6)  # the worker's next chunks change nothing now
    stored = await message(gql, reply_id)
    assert stored["status"] == "CANCELLED"
    assert stored["content"] == joined(events) == cancelled["content"]
    assert 0 < len(stored["content"]) < len(fake.reply)
    assert fake.reply.startswith(stored["content"])
    assert await replay(app, reply_id) == events  # nothing added after DONE
    # Cancelling a final reply changes nothing.
    again = data(await gql(CANCEL, {"m": reply_id}, token=token), "cancelTutorReply")
    assert again["status"] == "CANCELLED" and again["content"] == stored["content"]
    assert await replay(app, reply_id) == events


async def test_cancelling_a_pending_reply_closes_its_stream_and_its_job_does_nothing(
    gql: GraphQLClient, jobs: Jobs, fake: FakeLLM, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    pair = await sent(gql, token, session_id)
    reply_id = pair["reply"]["id"]
    cancelled = data(await gql(CANCEL, {"m": reply_id}, token=token), "cancelTutorReply")
    assert cancelled["status"] == "CANCELLED" and cancelled["content"] == ""
    assert await jobs.run() == 1
    assert chats(fake) == []
    events = await replay(app, reply_id)
    assert [(e["seq"], e["kind"]) for e in events] == [(1, "DONE")]
    assert events[0]["message"]["status"] == "CANCELLED"
    assert (await message(gql, reply_id))["status"] == "CANCELLED"


async def test_cancelling_a_finished_reply_keeps_it(
    gql: GraphQLClient, jobs: Jobs, app: Any
) -> None:
    token, session_id = await learner_session(gql)
    pair = await sent(gql, token, session_id)
    await jobs.run()
    before = await message(gql, pair["reply"]["id"])
    after = data(await gql(CANCEL, {"m": pair["reply"]["id"]}, token=token), "cancelTutorReply")
    assert after == before and after["status"] == "COMPLETE"


# --- answer leak -----------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [3, 10, 40])
async def test_a_reply_giving_away_a_quiz_answer_is_replaced_by_a_hint(
    gql: GraphQLClient, runtime: Runtime, jobs: Jobs, fake: FakeLLM, app: Any, chunks: int
) -> None:
    await grounded_learner(gql, runtime, LEARNER)
    token, session_id = await learner_session(gql, skillIds=["cell-biology"])
    fake.mode, fake.leak_text, fake.chunks = LEAK, PENDING_EXPECTED, chunks
    pair = await sent(gql, token, session_id, "What is the answer to my chemistry quiz?")
    reply_id = pair["reply"]["id"]
    await jobs.run()
    stored = await message(gql, reply_id)
    assert stored["status"] == "COMPLETE"
    assert [g["kind"] for g in stored["guardrails"]] == ["ANSWER_LEAK"]
    assert PENDING_EXPECTED.casefold() not in stored["content"].casefold()
    assert stored["content"].rstrip().endswith("?")
    events = await replay(app, reply_id)
    check_events(events, reply_id)
    for event in events[:-1]:
        assert PENDING_EXPECTED.casefold() not in event["delta"].casefold()
    streamed = joined(events)
    assert PENDING_EXPECTED.casefold() not in streamed.casefold()
    assert "Avo" not in streamed  # not even its start
    assert events[-1]["kind"] == "DONE" and events[-1]["message"] == stored
    # No hint goes back to the model as an assistant turn.
    fake.mode = GOOD
    await sent(gql, token, session_id, "ok, another question")
    await jobs.run()
    last = chats(fake)[-1]
    assert all(m["role"] != "assistant" for m in last["messages"])


async def test_a_submitted_quiz_answer_is_no_leak(
    gql: GraphQLClient, runtime: Runtime, jobs: Jobs, fake: FakeLLM
) -> None:
    """The answer of a quiz the learner has submitted may be discussed."""
    await grounded_learner(gql, runtime, LEARNER)
    token, session_id = await learner_session(gql)
    fake.mode, fake.leak_text = LEAK, "Mitochondrion"
    pair = await sent(gql, token, session_id, "Which one was it?")
    await jobs.run()
    stored = await message(gql, pair["reply"]["id"])
    assert stored["guardrails"] == [] and "Mitochondrion" in stored["content"]


# --- across processes ------------------------------------------------------------------


class ApiProcess:
    """`learntwin serve --no-worker` on a free port."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        self.log = logs / "api.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "learntwin_graphql.cli",
                    "serve",
                    "--no-worker",
                    "--no-access-log",
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient() as http:
            while True:
                assert self.process.poll() is None, self.log.read_text()
                try:
                    response = await http.post(
                        self.url,
                        json={"query": "{ __typename }"},
                        headers={"X-API-Key": ADMIN_KEY},
                    )
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, self.log.read_text()
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.mark.slow
async def test_a_subscriber_on_one_api_process_follows_a_worker_on_another(
    services: Services,
    runtime: Runtime,
    gql: GraphQLClient,
    fake: FakeLLM,
    tmp_path: Path,
) -> None:
    assert not runtime.has_worker
    env = worker_env(services, fake.base_url, tmp_path)
    fake.chunks, fake.chunk_delay = 12, 0.15
    api = ApiProcess(env, tmp_path)
    workers = WorkerProcesses(env, tmp_path)
    try:
        await api.ready()
        token, session_id = await learner_session(gql)
        pair = await sent(gql, token, session_id, "Across processes")
        reply_id = pair["reply"]["id"]
        async with (
            httpx.AsyncClient() as http,
            aconnect_ws(api.url, http, subprotocols=[PROTOCOL]) as ws,
        ):
            await ws.send_json({"type": "connection_init", "payload": bearer(token)})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            await subscribe(ws, "p", reply_id)
            await asyncio.sleep(0.3)
            workers.start()
            first = await wait_for_deltas(ws, "p", 2, seconds=30)
            assert (await message(gql, reply_id))["status"] == "STREAMING"  # still live
            rest, end = await collect(ws, "p", seconds=30)
        assert end == {"id": "p", "type": "complete"}
        events = first + rest
        check_events(events, reply_id)
        assert events[-1]["kind"] == "DONE"
        stored = await message(gql, reply_id)
        assert stored["status"] == "COMPLETE" and stored["source"] == "LLM"
        assert joined(events) == stored["content"] == fake.reply
        assert events[-1]["message"]["content"] == stored["content"]
    except BaseException:
        print(api.log.read_text(errors="replace")[-3000:])
        print(workers.output())
        raise
    finally:
        workers.kill_all()
        api.stop()


@pytest.mark.slow
async def test_a_reply_whose_worker_is_killed_mid_stream_fails_with_the_fallback(
    services: Services,
    runtime: Runtime,
    gql: GraphQLClient,
    fake: FakeLLM,
    app: Any,
    tmp_path: Path,
) -> None:
    assert not runtime.has_worker
    env = worker_env(services, fake.base_url, tmp_path)
    # Long, but well inside the job timeout (5 s): only the kill stops it.
    fake.chunks, fake.chunk_delay = 20, 0.2
    workers = WorkerProcesses(env, tmp_path)
    try:
        token, session_id = await learner_session(gql)
        pair = await sent(gql, token, session_id, "Killed mid-stream")
        reply_id = pair["reply"]["id"]
        first_worker = workers.start()
        async with socket(app, bearer(token)) as ws:
            await subscribe(ws, "k", reply_id)
            first = await wait_for_deltas(ws, "k", 3, seconds=30)
            await asyncio.to_thread(WorkerProcesses.kill, first_worker)
            killed_at = await message(gql, reply_id)
            assert killed_at["status"] == "STREAMING"
            assert 0 < len(killed_at["content"]) < len(fake.reply)
            workers.start()
            rest, end = await collect(ws, "k", seconds=60)
        assert end == {"id": "k", "type": "complete"}
        events = first + rest
        check_events(events, reply_id)
        last = events[-1]
        assert last["kind"] == "ERROR" and last["error"]
        stored = await message(gql, reply_id)
        assert stored["status"] == "FAILED" and stored["source"] == "FALLBACK"
        assert stored["content"] == fallback_reply("SOCRATIC", _no_grounding(), "Killed mid-stream")
        assert last["message"]["content"] == stored["content"]
        assert stored["content"] != fake.reply
        assert fake.reply.startswith(joined(events))  # the deltas were the model's text
        assert joined(events) != fake.reply  # never completed with half text either
        assert len(chats(fake)) == 1  # the second try did not ask the model again
        assert await replay(app, reply_id) == events
        stream = await tutor_events.after(runtime.redis, reply_id, 0)
        assert [e.seq for e in stream] == list(range(1, len(events) + 1))
    except BaseException:
        print(workers.output())
        raise
    finally:
        workers.kill_all()
