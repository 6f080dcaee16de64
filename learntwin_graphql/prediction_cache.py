"""Batch predictions with a Redis cache in front of the model.

Keys hold the model version and a hash of the normalized features, so a new version
never serves an old answer. The reads (an MGET per chunk, counting hits and misses) are
one round trip, the writes of the new answers one pipelined round trip; with Redis down
every prediction is computed, uncached."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import orjson
from arq.connections import ArqRedis
from redis.exceptions import NoScriptError, RedisError

from ml.scoring import FEATURES, ScoreModel, cache_keys

log = logging.getLogger(__name__)
CHUNK = 50
STATS_KEY = "learntwin:prediction-stats"
KEY_PATTERN = "learntwin:prediction:*"


class Predicted(NamedTuple):
    score: float
    persona: str | None
    cached: bool


@dataclass(frozen=True)
class BatchResult:
    predictions: list[Predicted]
    cache_hits: int
    processing_ms: float


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
_READ_SHA = hashlib.sha1(_READ.encode()).hexdigest()


async def _read(redis: ArqRedis, keys: list[str]) -> list[bytes | None]:
    try:
        try:
            values = await redis.evalsha(_READ_SHA, len(keys) + 1, STATS_KEY, *keys, CHUNK)
        except NoScriptError:  # a Redis that has not seen the script yet (or restarted)
            values = await redis.eval(_READ, len(keys) + 1, STATS_KEY, *keys, CHUNK)
    except (RedisError, OSError):
        log.warning("prediction cache unavailable: computing %d predictions", len(keys))
        return [None] * len(keys)
    # Lua turns a missing value into false, which comes back as None.
    return list(values)


async def _write(redis: ArqRedis, fresh: dict[str, Predicted], ttl_seconds: int) -> None:
    """Store the new answers, in one pipelined round trip."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for key, predicted in fresh.items():
                pipe.set(key, orjson.dumps([predicted.score, predicted.persona]), ex=ttl_seconds)
            await pipe.execute()
    except (RedisError, OSError):
        pass  # already logged on the read; the answers stand without the cache


async def predict_batch(
    redis: ArqRedis, model: ScoreModel, rows: np.ndarray, ttl_seconds: int
) -> BatchResult:
    """Predictions for `rows` (n x 5, FEATURES order): cached answers first, the rest computed
    in chunks of CHUNK rows and cached for `ttl_seconds`."""
    began = time.perf_counter()
    matrix = np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))
    keys = cache_keys(model.version, matrix)
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
    counters = await redis.hgetall(STATS_KEY)
    keys = 0
    async for _ in redis.scan_iter(match=KEY_PATTERN, count=1000):
        keys += 1
    return CacheStats(int(counters.get(b"hits", 0)), int(counters.get(b"misses", 0)), keys)


async def clear_cache(redis: ArqRedis) -> int:
    """Remove every cached prediction and reset the counters; returns how many keys went."""
    removed = 0
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=KEY_PATTERN, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            removed += await redis.unlink(*batch)
            batch.clear()
    if batch:
        removed += await redis.unlink(*batch)
    await redis.delete(STATS_KEY)
    return removed
