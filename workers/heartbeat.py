"""Workers announce themselves in Redis, so `/readyz` can tell whether any is alive."""

from __future__ import annotations

import os
import socket
from typing import Any

from arq.connections import ArqRedis

KEY_PREFIX = "learntwin:worker:"
TTL_SECONDS = 30


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def heartbeat(ctx: dict[str, Any]) -> None:
    redis: ArqRedis = ctx["redis"]
    await redis.set(KEY_PREFIX + ctx["worker_name"], "1", ex=TTL_SECONDS)


async def live_workers(redis: ArqRedis) -> int:
    count = 0
    async for _ in redis.scan_iter(match=KEY_PREFIX + "*", count=100):
        count += 1
    return count
