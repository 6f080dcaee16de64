"""The sweeper settles tutor replies no job holds any more: a reply that never started
is queued again; one that stopped half-way is FAILED with the fallback and an ERROR."""

from __future__ import annotations

from typing import Any

from arq.constants import job_key_prefix
from sqlalchemy import text

from tests.conftest import learner_token
from workers import tutor_events
from workers.keys import QUEUE_NAME
from workers.tutor_events import DELTA, ReplyEvent
from workers.tutor_replies import settle_abandoned

START = 'mutation { startChatSession(input: {studentId: "s-sweep"}) { id } }'
SEND = """mutation($c: ID!, $k: String!) { sendTutorMessage(input: {sessionId: $c,
  content: "What is a ratio?", clientMessageId: $k}) { reply { id } } }"""
MESSAGE = "query($m: ID!) { chatMessage(id: $m) { status content source } }"


async def _reply(gql: Any, token: str, session: str, key: str) -> str:
    body = await gql(SEND, {"c": session, "k": key}, token=token)
    assert "errors" not in body, body
    return body["data"]["sendTutorMessage"]["reply"]["id"]


async def _lose_job(runtime: Any, message_id: str) -> None:
    """What a Redis that forgot the job leaves: neither the job nor its queue entry."""
    await runtime.redis.delete(job_key_prefix + message_id)
    await runtime.redis.zrem(QUEUE_NAME, message_id)


async def _age(runtime: Any, message_id: str, status: str | None = None) -> None:
    sets = "created_at = now() - interval '1 hour'" + (f", status = '{status}'" if status else "")
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE chat_messages SET {sets} WHERE id = :m"), {"m": message_id}
        )


async def test_abandoned_replies_are_queued_again_or_failed(gql, runtime, jobs):
    token = await learner_token(gql, "sweep@example.org", "s-sweep")
    session = (await gql(START, token=token))["data"]["startChatSession"]["id"]
    ctx = {"engine": runtime.engine, "redis": runtime.redis}
    # never started, and its job lost: queued again, then written
    lost = await _reply(gql, token, session, "k1")
    await _lose_job(runtime, lost)
    await _age(runtime, lost)
    assert await settle_abandoned(ctx, 60) == 1
    assert await runtime.redis.exists(job_key_prefix + lost)
    await jobs.run()
    done = (await gql(MESSAGE, {"m": lost}))["data"]["chatMessage"]
    assert done["status"] == "COMPLETE" and done["source"] == "FALLBACK"
    # stopped half-way (a DELTA sent, no worker holds it): FAILED with the fallback
    half = await _reply(gql, token, session, "k2")
    await _lose_job(runtime, half)
    await tutor_events.append(runtime.redis, half, ReplyEvent(1, DELTA, "Half a"))
    await _age(runtime, half, "STREAMING")
    assert await settle_abandoned(ctx, 60) == 1
    failed = (await gql(MESSAGE, {"m": half}))["data"]["chatMessage"]
    assert failed["status"] == "FAILED" and failed["source"] == "FALLBACK"
    assert failed["content"] and failed["content"] != "Half a"
    events = await tutor_events.after(runtime.redis, half, 0)
    assert [(e.seq, e.kind) for e in events] == [(1, "DELTA"), (2, "ERROR")]
    # a young reply, or one a job holds, is left alone
    young = await _reply(gql, token, session, "k3")
    assert await settle_abandoned(ctx, 60) == 0
    await jobs.run()
    assert (await gql(MESSAGE, {"m": young}))["data"]["chatMessage"]["status"] == "COMPLETE"
