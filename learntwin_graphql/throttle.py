"""Fixed-window counters in Redis; when Redis is down nothing is throttled."""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


async def too_many(redis: ArqRedis, key: str, *, limit: int) -> bool:
    """Whether `key` has already been hit `limit` times in the current window."""
    try:
        count = await redis.get(f"learntwin:throttle:{key}")
    except RedisError:
        log.warning("throttle unavailable (Redis down): %s not checked", key)
        return False
    return count is not None and int(count) >= limit


async def hit(redis: ArqRedis, key: str, *, window_seconds: int) -> None:
    name = f"learntwin:throttle:{key}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            # SET NX opens the window once (EXPIRE NX needs Redis 7); INCR keeps the TTL.
            pipe.set(name, 0, ex=window_seconds, nx=True)
            pipe.incr(name)
            await pipe.execute()
    except RedisError:
        log.warning("throttle unavailable (Redis down): %s not counted", key)


async def reset(redis: ArqRedis, key: str) -> None:
    try:
        await redis.delete(f"learntwin:throttle:{key}")
    except RedisError:
        pass
