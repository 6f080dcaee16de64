"""Workers announce themselves in Redis, so `/readyz` can count the live ones.

A worker's poll loop refreshes a key of its own every BEAT_SECONDS with a TTL of
TTL_SECONDS: one that dies, hangs or loses Redis drops out of the count within that
TTL, and one that reconnects is counted again at its next beat. A set of names indexes
the keys, so counting reads only them and never scans the keyspace (which also holds
the prediction cache)."""

from __future__ import annotations

import os
import secrets
import socket

from arq.connections import ArqRedis

from workers.keys import WORKER_PREFIX, WORKER_REGISTRY

BEAT_SECONDS = 2.0
TTL_SECONDS = 6.0  # three beats: one late beat is not a death


def worker_name() -> str:
    """Host and pid, for people reading Redis; the suffix keeps two workers of one process apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def beat(redis: ArqRedis, name: str) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(WORKER_PREFIX + name, "1", px=int(TTL_SECONDS * 1000))
        pipe.sadd(WORKER_REGISTRY, name)
        await pipe.execute()


async def forget(redis: ArqRedis, name: str) -> None:
    """A worker that stops cleanly leaves the count at once."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(WORKER_PREFIX + name)
        pipe.srem(WORKER_REGISTRY, name)
        await pipe.execute()


async def live_workers(redis: ArqRedis) -> int:
    """Workers whose last beat is younger than the TTL; dead names leave the index."""
    names = list(await redis.smembers(WORKER_REGISTRY))
    if not names:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.exists(WORKER_PREFIX + name.decode())
        alive = await pipe.execute()
    dead = [name for name, exists in zip(names, alive, strict=True) if not exists]
    if dead:
        # A worker beating right now is re-added by its next beat, two seconds on.
        await redis.srem(WORKER_REGISTRY, *dead)
    return sum(1 for exists in alive if exists)
