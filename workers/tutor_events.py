"""The events of a streamed tutor reply, kept in a Redis Stream per message.

Entry ids are `0-<seq>`: seq counts from 1 with no gaps, and Redis refuses an id that is
not above the last one, so two writers can never interleave their events. Each stream
is bounded in length and expires an hour after its last event; Postgres keeps the
message itself. Any API process replays a stream (`XRANGE`) and follows it
(`XREAD BLOCK`)."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from workers.keys import tutor_cancel, tutor_stream

DELTA, DONE, ERROR = "DELTA", "DONE", "ERROR"
TERMINAL = (DONE, ERROR)
MAX_EVENTS = 10_000
EXPIRE_SECONDS = 3600


@dataclass(frozen=True)
class ReplyEvent:
    seq: int
    kind: str
    delta: str | None = None
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _event(entry_id: object, fields: dict[object, object]) -> ReplyEvent:
    values = {_text(k): _text(v) for k, v in fields.items()}
    return ReplyEvent(
        seq=int(_text(entry_id).split("-", 1)[1]),
        kind=values["kind"],
        delta=values.get("delta"),
        error=values.get("error"),
    )


def _fields(event: ReplyEvent) -> dict[str, str]:
    fields = {"kind": event.kind}
    if event.delta is not None:
        fields["delta"] = event.delta
    if event.error is not None:
        fields["error"] = event.error
    return fields


async def append(redis: ArqRedis, message_id: str, event: ReplyEvent) -> None:
    """Add the event under its seq (refused by Redis unless it follows the last one),
    keep the stream bounded, and push its expiry back."""
    await append_all(redis, message_id, [event])


async def append_all(redis: ArqRedis, message_id: str, events: list[ReplyEvent]) -> None:
    """`append` for several events, in order, in one round trip."""
    key = tutor_stream(message_id)
    async with redis.pipeline(transaction=True) as pipe:
        for event in events:
            pipe.xadd(key, _fields(event), id=f"0-{event.seq}", maxlen=MAX_EVENTS, approximate=True)
        pipe.expire(key, EXPIRE_SECONDS)
        await pipe.execute()


async def last(redis: ArqRedis, message_id: str) -> ReplyEvent | None:
    """The newest event, None when the stream is empty or gone."""
    found = await redis.xrevrange(tutor_stream(message_id), count=1)
    return _event(*found[0]) if found else None


async def after(redis: ArqRedis, message_id: str, seq: int, count: int = 500) -> list[ReplyEvent]:
    """The events after `seq`, oldest first."""
    found = await redis.xrange(tutor_stream(message_id), min=f"(0-{seq}", count=count)
    return [_event(entry_id, fields) for entry_id, fields in found]


async def follow(
    redis: ArqRedis, message_id: str, seq: int, block_ms: int, count: int = 500
) -> list[ReplyEvent]:
    """The events after `seq`, waiting up to `block_ms` for the first one."""
    found = await redis.xread({tutor_stream(message_id): f"0-{seq}"}, count=count, block=block_ms)
    return [_event(entry_id, fields) for _, entries in found for entry_id, fields in entries]


async def exists(redis: ArqRedis, message_id: str) -> bool:
    return bool(await redis.exists(tutor_stream(message_id)))


async def request_cancel(redis: ArqRedis, message_id: str) -> None:
    await redis.set(tutor_cancel(message_id), "1", ex=EXPIRE_SECONDS)


async def cancelled(redis: ArqRedis, message_id: str) -> bool:
    return bool(await redis.exists(tutor_cancel(message_id)))
