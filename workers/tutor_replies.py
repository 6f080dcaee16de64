"""The tutor's reply job: stream the model's answer (or the fallback) into the message's
event stream, keep Postgres's copy of the text so far, and finish the message.

Deltas are coalesced (the first at once, then about every 50 ms or 32 characters). The
final content, status, token usage and grounding are committed before DONE is added, so
a client that sees DONE reads the stored message. A reply that would give away the
answer of a quiz the learner has not submitted is replaced by a hint (ANSWER_LEAK): the
last characters are held back until they cannot be the start of such an answer. When
the model cannot answer before any text was sent, the fallback is streamed instead
(source FALLBACK); when it breaks off after text was sent, or a try of this job died
mid-reply, the message is FAILED with the fallback and an ERROR event."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import tutor as tutor_db
from db.engine import asyncpg_connection
from ml.tutor import find_leak
from ml.tutor_fallback import fallback_reply, leak_hint, stream_pieces
from workers import tutor_events
from workers.llm import LLMClient, StreamFailed, StreamUsage
from workers.tutor_context import ReplyContext, reply_context
from workers.tutor_events import DELTA, DONE, ERROR, ReplyEvent

log = logging.getLogger(__name__)

TUTOR_REPLY = "tutor_reply"
FLUSH_SECONDS = 0.05
FLUSH_CHARS = 32
MAX_REPLY_CHARS = 8000
HOLDBACK_MAX = 64
HISTORY_BUDGET = 3000


@dataclass
class _Writer:
    """The reply's text as it grows, and what of it the event stream has."""

    engine: AsyncEngine
    redis: ArqRedis
    message_id: str
    seq: int
    holdback: int
    text: str = ""
    sent: int = 0
    flushed_at: float = field(default_factory=time.monotonic)

    async def event(self, kind: str, delta: str | None = None, error: str | None = None) -> None:
        self.seq += 1
        await tutor_events.append(
            self.redis, self.message_id, ReplyEvent(self.seq, kind, delta, error)
        )

    async def flush(self, *, final: bool = False) -> bool:
        """Send what may be sent (all of it when `final`); False when the reply was
        cancelled meanwhile (its status is no longer STREAMING)."""
        end = len(self.text) if final else max(self.sent, len(self.text) - self.holdback)
        if end <= self.sent:
            return True
        async with self.engine.connect() as conn:
            raw = await asyncpg_connection(conn)
            if not await tutor_db.set_content(raw, self.message_id, self.text[:end]):
                return False
        await self.event(DELTA, self.text[self.sent : end])
        self.sent, self.flushed_at = end, time.monotonic()
        return True

    def due(self) -> bool:
        pending = len(self.text) - self.holdback - self.sent
        return pending > 0 and (
            self.sent == 0
            or pending >= FLUSH_CHARS
            or time.monotonic() - self.flushed_at >= FLUSH_SECONDS
        )


async def tutor_reply(ctx: dict[str, Any], message_id: str) -> str:
    """The job: returns the message's final status."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    async with engine.begin() as conn:
        claimed = await tutor_db.claim(await asyncpg_connection(conn), message_id)
    if claimed is None:  # final already (cancelled, or finished by an earlier try)
        return await _close_stream(engine, redis, message_id)
    previous, context = await asyncio.gather(
        tutor_events.last(redis, message_id), reply_context(engine, claimed, HISTORY_BUDGET)
    )
    if context is None:
        return await _finish(engine, redis, message_id, 0, {"content": "", "status": "FAILED"})
    seq = previous.seq if previous else 0
    if previous is not None and claimed["attempts"] > 1:
        # An earlier try died with part of the reply sent: it is never completed as is.
        return await _fail(engine, redis, context, seq, "the reply was interrupted")
    longest = max((len(a) for a in context.expected), default=0)
    writer = _Writer(engine, redis, message_id, seq, min(HOLDBACK_MAX, longest))
    return await _stream(ctx["llm"], ctx["config"].llm_timeout, context, writer)


async def _stream(llm: LLMClient, stall: float, context: ReplyContext, writer: _Writer) -> str:
    usage = StreamUsage()
    guardrails: list[dict[str, str]] = []
    try:
        async for piece in llm.stream_chat(context.prompt.messages, usage, stall=stall):
            writer.text += piece
            leak = find_leak(writer.text, context.expected)
            if leak is not None:
                guardrails.append(
                    {
                        "kind": "ANSWER_LEAK",
                        "message": "The reply gave away a quiz answer; a hint replaced it.",
                    }
                )
                writer.text = writer.text[: writer.sent]
                content = leak_hint(context.grounding, leak)
                return await _complete(writer, context, content, "LLM", usage, guardrails)
            if len(writer.text) > MAX_REPLY_CHARS:
                writer.text = writer.text[:MAX_REPLY_CHARS]
                guardrails.append(
                    {"kind": "TOO_LONG", "message": f"Cut at {MAX_REPLY_CHARS} characters."}
                )
                break
            if writer.due() and not await writer.flush():
                return await _close_stream(
                    writer.engine, writer.redis, writer.message_id, writer.seq
                )
    except StreamFailed as exc:
        log.info("tutor reply %s falls back: %s", writer.message_id, exc)
        if writer.sent:
            return await _fail(writer.engine, writer.redis, context, writer.seq, str(exc))
        return await _fallback(writer, context)
    if not writer.text:
        return await _fallback(writer, context)
    if not await writer.flush(final=True):
        return await _close_stream(writer.engine, writer.redis, writer.message_id, writer.seq)
    return await _complete(writer, context, writer.text, "LLM", usage, guardrails)


async def _fallback(writer: _Writer, context: ReplyContext) -> str:
    """The deterministic reply, streamed the same way: its pieces as DELTAs, then DONE.
    It is all known at once, so it is stored first and its events are added in one
    round trip."""
    text = fallback_reply(context.mode, context.grounding, context.message)
    fields = _final_fields(context, text, "FALLBACK", StreamUsage(), [])
    async with writer.engine.begin() as conn:
        stored = await tutor_db.finish(await asyncpg_connection(conn), writer.message_id, fields)
    if stored is None:  # cancelled meanwhile
        return await _close_stream(writer.engine, writer.redis, writer.message_id, writer.seq)
    pieces = stream_pieces(text[writer.sent :])
    events = [ReplyEvent(writer.seq + n, DELTA, piece) for n, piece in enumerate(pieces, 1)]
    events.append(ReplyEvent(writer.seq + len(pieces) + 1, DONE))
    await tutor_events.append_all(writer.redis, writer.message_id, events)
    return str(stored["status"])


def _final_fields(
    context: ReplyContext,
    content: str,
    source: str,
    usage: StreamUsage,
    guardrails: list[dict[str, str]],
) -> dict[str, Any]:
    return {
        "content": content,
        "status": "COMPLETE",
        "source": source,
        "guardrails": guardrails,
        "grounding": context.record,
        "model": usage.model,
        "prompt_tokens": usage.prompt_tokens
        if usage.prompt_tokens is not None
        else (context.prompt.prompt_tokens if source == "LLM" else None),
        "completion_tokens": usage.completion_tokens,
    }


async def _complete(
    writer: _Writer,
    context: ReplyContext,
    content: str,
    source: str,
    usage: StreamUsage,
    guardrails: list[dict[str, str]],
) -> str:
    fields = _final_fields(context, content, source, usage, guardrails)
    return await _finish(writer.engine, writer.redis, writer.message_id, writer.seq, fields)


async def _fail(
    engine: AsyncEngine, redis: ArqRedis, context: ReplyContext, seq: int, reason: str
) -> str:
    fields = {
        "content": fallback_reply(context.mode, context.grounding, context.message),
        "status": "FAILED",
        "source": "FALLBACK",
        "grounding": context.record,
    }
    return await _finish(engine, redis, context.reply["id"], seq, fields, error=reason)


async def _finish(
    engine: AsyncEngine,
    redis: ArqRedis,
    message_id: str,
    seq: int,
    fields: dict[str, Any],
    *,
    error: str | None = None,
) -> str:
    """Commit the final message, then add DONE (or ERROR) after the last event."""
    async with engine.begin() as conn:
        stored = await tutor_db.finish(await asyncpg_connection(conn), message_id, fields)
    if stored is None:  # cancelled meanwhile: close the stream on what is stored
        return await _close_stream(engine, redis, message_id, seq)
    kind = ERROR if error is not None else DONE
    await tutor_events.append(redis, message_id, ReplyEvent(seq + 1, kind, None, error))
    return str(stored["status"])


async def _close_stream(
    engine: AsyncEngine, redis: ArqRedis, message_id: str, seq: int | None = None
) -> str:
    """A final message's stream ends with DONE (or ERROR for a FAILED one), once."""
    row = (await tutor_db.messages_by_id(engine, [message_id])).get(message_id)
    last = await tutor_events.last(redis, message_id)
    if last is not None and last.terminal:
        return str(row["status"]) if row else "GONE"
    at = last.seq if last is not None else (seq or 0)
    status = str(row["status"]) if row else "GONE"
    kind = ERROR if status == "FAILED" else DONE
    try:
        await tutor_events.append(redis, message_id, ReplyEvent(at + 1, kind))
    except ResponseError:  # another writer closed it first: its event stands
        log.debug("stream of %s was closed concurrently", message_id)
    return status


async def settle_abandoned(ctx: dict[str, Any], older_than: float) -> int:
    """For the sweeper: a reply no job holds any more (its worker died on its last try,
    or Redis lost the job) is queued again when nothing of it was sent, and otherwise
    FAILED with the fallback and an ERROR event. Returns how many were settled."""
    engine: AsyncEngine = ctx["engine"]
    redis: ArqRedis = ctx["redis"]
    settled = 0
    for row in await tutor_db.unfinished_replies(engine, older_than):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.exists(in_progress_key_prefix + row["id"], job_key_prefix + row["id"])
            (held,) = await pipe.execute()
        if held:
            continue
        last = await tutor_events.last(redis, row["id"])
        if last is None:
            await redis.delete(result_key_prefix + row["id"])
            await redis.enqueue_job(TUTOR_REPLY, row["id"], _job_id=row["id"])
        else:
            context = await reply_context(engine, row, HISTORY_BUDGET)
            if context is None:
                continue
            await _fail(engine, redis, context, last.seq, "no worker finished the reply")
        settled += 1
    return settled
