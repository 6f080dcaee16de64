"""Fixed-window attempt counters: atomic in Redis, kept in process while Redis is down.

A caller takes its slots *before* the work it limits (a password check, a key lookup, an
account creation), so concurrent attempts cannot all pass a read-then-write check, and
gives them back when the attempt turns out not to count (a correct password). Every
limit a request is subject to is checked and taken in one atomic step.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from workers.keys import THROTTLE_PREFIX

log = logging.getLogger(__name__)

# Beyond this many counters the in-process fallback drops expired ones, then the oldest:
# it must never grow without bound while Redis stays down under a flood.
MEMORY_MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Limit:
    """Refuse when `key` has reached `limit` in its window, unless `only_if` is given and
    that counter is still zero (used to spare clients that never failed). A limit of 0
    only counts."""

    key: str
    limit: int
    window_seconds: int
    only_if: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    granted: bool
    retry_after: int = 0  # seconds until the refusing window ends


# KEYS: the counters; ARGV: per counter (limit, window, index of its `only_if` key or 0).
# Refuses (without counting) when any limit is reached; otherwise counts every key.
_TAKE = """
local n = #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[3 * i - 2])
  if limit > 0 then
    local count = tonumber(redis.call('GET', KEYS[i]) or '0')
    local guard = tonumber(ARGV[3 * i])
    local applies = guard == 0 or tonumber(redis.call('GET', KEYS[guard]) or '0') > 0
    if applies and count >= limit then
      return {0, redis.call('TTL', KEYS[i])}
    end
  end
end
for i = 1, n do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('EXPIRE', KEYS[i], ARGV[3 * i - 1])
  end
end
return {1, 0}
"""
_GIVE_BACK = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


class Limiter:
    """Attempt limits shared by every process through Redis, with an in-process fallback."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._memory: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)

    async def take(self, limits: Sequence[Limit]) -> Decision:
        """Count one attempt against every limit, or refuse it (counting nothing)."""
        keys = [THROTTLE_PREFIX + limit.key for limit in limits]
        index = {limit.key: position for position, limit in enumerate(limits, start=1)}
        args: list[int] = []
        for limit in limits:
            args += [limit.limit, limit.window_seconds, index.get(limit.only_if or "", 0)]
        try:
            granted, ttl = await self._take(keys=keys, args=args)
            return Decision(bool(granted), max(int(ttl), 1) if not granted else 0)
        except (RedisError, OSError):
            log.warning("attempt limits kept in process: Redis unavailable")
            return self._take_in_memory(limits)

    async def give_back(self, limits: Sequence[Limit]) -> None:
        """Uncount one attempt that turned out not to count (e.g. a correct password)."""
        try:
            await self._give_back(keys=[THROTTLE_PREFIX + limit.key for limit in limits])
        except (RedisError, OSError):
            pass
        # The slot may have been taken in process while Redis was down.
        for limit in limits:
            entry = self._memory.get(limit.key)
            if entry is not None and entry[0] > 0:
                self._memory[limit.key] = (entry[0] - 1, entry[1])

    async def reset(self, limits: Sequence[Limit]) -> None:
        """Forget these counters (e.g. a client's failures once it has signed in)."""
        for limit in limits:
            self._memory.pop(limit.key, None)
        try:
            await self._redis.delete(*(THROTTLE_PREFIX + limit.key for limit in limits))
        except (RedisError, OSError):
            pass

    def _take_in_memory(self, limits: Sequence[Limit]) -> Decision:
        now = time.monotonic()
        counts = {limit.key: self._count(limit.key, now) for limit in limits}
        for limit in limits:
            applies = limit.only_if is None or counts.get(limit.only_if, 0) > 0
            if limit.limit > 0 and applies and counts[limit.key] >= limit.limit:
                expires = self._memory[limit.key][1]
                return Decision(False, max(math.ceil(expires - now), 1))
        if len(self._memory) >= MEMORY_MAX_KEYS:
            self._evict(now)
        for limit in limits:
            count, expires = self._memory.get(limit.key, (0, now + limit.window_seconds))
            self._memory[limit.key] = (count + 1, expires)
        return Decision(True)

    def _count(self, key: str, now: float) -> int:
        entry = self._memory.get(key)
        if entry is None:
            return 0
        if entry[1] <= now:
            del self._memory[key]
            return 0
        return entry[0]

    def _evict(self, now: float) -> None:
        for key in [key for key, (_, expires) in self._memory.items() if expires <= now]:
            del self._memory[key]
        # Still full: drop the windows that end soonest (dicts keep insertion order,
        # which is close enough to that and costs nothing to find).
        while len(self._memory) >= MEMORY_MAX_KEYS:
            del self._memory[next(iter(self._memory))]
