"""Batch predictions with a Redis cache in front of the model.

Keys hold the model version and a hash of the normalized features, so a new version
never serves an old answer. The reads (an MGET per chunk, counting hits and misses) are
one round trip, the writes of the new answers one more; with Redis down every
prediction is computed, uncached.

Statistics and clearing never scan the keyspace (a SCAN over 300,000 keys took 0.9 s).
Beside the entries, one sorted set (PREDICTION_INDEX) holds every cached key scored by
the time it expires, by Redis's own clock, written in the same script as the entry:

- the number of entries is the set's size once the members whose time has passed are
  trimmed. Redis expires an entry at its score (to the millisecond), so the count stays
  right as entries expire, with no notification needed. Every write trims too, so the
  set never holds more than the entries alive at the last write or read;
- clearing unlinks the set's members a batch at a time, each batch in one MULTI with
  the removal of its members, so the set and the entries never disagree.

It costs about as much memory again as the keys themselves. Only keys deleted behind the
cache's back (by hand, or by a `maxmemory` eviction policy) make the count too high,
until their expiry time passes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import orjson
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from ml.scoring import FEATURES, ScoreModel, cache_keys
from workers.keys import PREDICTION_INDEX, PREDICTION_STATS, prediction_prefix

log = logging.getLogger(__name__)
CHUNK = 50
CLEAR_BATCH = 500


class Predicted(NamedTuple):
    score: float
    persona: str | None
    cached: bool


@dataclass(frozen=True)
class BatchResult:
    predictions: list[Predicted]
    cache_hits: int
    processing_ms: float


# Redis's clock in milliseconds, the clock that expires keys: expiry times in the index
# are on it, whichever process wrote them.
_NOW_MS = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
"""

# The cached answers of every key, read with an MGET per chunk, and the hits and misses
# counted, all in one round trip. KEYS[1] is the counters' hash, the rest cache keys;
# ARGV[1] is the chunk size.
_READ = """
local size = tonumber(ARGV[1])
local values = {}
local hits = 0
for first = 2, #KEYS, size do
  local chunk = redis.call('MGET', unpack(KEYS, first, math.min(first + size - 1, #KEYS)))
  for i = 1, #chunk do
    values[#values + 1] = chunk[i]
    if chunk[i] then hits = hits + 1 end
  end
end
redis.call('HINCRBY', KEYS[1], 'hits', hits)
redis.call('HINCRBY', KEYS[1], 'misses', #values - hits)
return values
"""

# Store each answer (KEYS[2..], ARGV[2..]) for ARGV[1] seconds and index it by its expiry
# time in KEYS[1], dropping the index's expired members on the way.
_WRITE = (
    _NOW_MS
    + """
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i], 'EX', ttl)
  redis.call('ZADD', KEYS[1], now_ms + ttl * 1000, KEYS[i])
end
return #KEYS - 1
"""
)

# The counters (KEYS[1]) and the number of live entries in the index (KEYS[2]).
_STATS = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
local hits = redis.call('HGET', KEYS[1], 'hits') or '0'
local misses = redis.call('HGET', KEYS[1], 'misses') or '0'
return {tonumber(hits), tonumber(misses), redis.call('ZCARD', KEYS[2])}
"""
)


# `register_script` only binds a script to the client and computes its SHA1; the first
# call on a Redis that does not know it yet (or lost it in a restart) loads it.
async def _read(redis: ArqRedis, keys: list[str]) -> list[bytes | None]:
    try:
        values = await redis.register_script(_READ)(keys=[PREDICTION_STATS, *keys], args=[CHUNK])
    except (RedisError, OSError):
        log.warning("prediction cache unavailable: computing %d predictions", len(keys))
        return [None] * len(keys)
    # Lua turns a missing value into false, which comes back as None.
    return list(values)


async def _write(redis: ArqRedis, fresh: dict[str, Predicted], ttl_seconds: int) -> None:
    """Store the new answers and index them, in one round trip."""
    values = [orjson.dumps([predicted.score, predicted.persona]) for predicted in fresh.values()]
    try:
        await redis.register_script(_WRITE)(
            keys=[PREDICTION_INDEX, *fresh], args=[ttl_seconds, *values]
        )
    except (RedisError, OSError):
        pass  # already logged on the read; the answers stand without the cache


async def predict_batch(
    redis: ArqRedis, model: ScoreModel, rows: np.ndarray, ttl_seconds: int
) -> BatchResult:
    """Predictions for `rows` (n x 5, FEATURES order): cached answers first, the rest computed
    in chunks of CHUNK rows and cached for `ttl_seconds`."""
    began = time.perf_counter()
    matrix = np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))
    keys = cache_keys(prediction_prefix(model.version), matrix)
    cached = await _read(redis, keys)
    out: list[Predicted | None] = [
        None if value is None else Predicted(*orjson.loads(value), True) for value in cached
    ]
    missing = [i for i, value in enumerate(out) if value is None]
    fresh: dict[str, Predicted] = {}
    for start in range(0, len(missing), CHUNK):
        indexes = missing[start : start + CHUNK]
        scores, personas = model.predict(matrix[indexes])
        for i, score, persona in zip(indexes, scores.tolist(), personas, strict=True):
            out[i] = fresh[keys[i]] = Predicted(round(score, 2), persona, False)
    if fresh:
        await _write(redis, fresh, ttl_seconds)
    return BatchResult(
        out,  # type: ignore[arg-type]  # every slot is filled above
        len(rows) - len(missing),
        (time.perf_counter() - began) * 1000,
    )


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    keys: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


async def cache_stats(redis: ArqRedis) -> CacheStats:
    """Hits and misses since the last clear, and the entries alive now (all versions)."""
    hits, misses, keys = await redis.register_script(_STATS)(
        keys=[PREDICTION_STATS, PREDICTION_INDEX]
    )
    return CacheStats(int(hits), int(misses), int(keys))


async def clear_cache(redis: ArqRedis) -> int:
    """Remove every cached prediction and reset the counters; returns how many keys went.

    Entries written while it runs are indexed too, and go with the rest."""
    removed = 0
    while members := await redis.zrange(PREDICTION_INDEX, 0, CLEAR_BATCH - 1):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.unlink(*members)
            pipe.zrem(PREDICTION_INDEX, *members)
            gone, _ = await pipe.execute()
        removed += int(gone)  # expired members name no key and count nothing
    await redis.delete(PREDICTION_STATS)
    return removed
