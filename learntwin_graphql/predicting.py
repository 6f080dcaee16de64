"""Batch predictions with a Redis cache in front of the model.

Keys hold the model version and a hash of the normalized features, so a new version
never serves an old answer. Reads and writes are one pipelined round trip per chunk;
with Redis down every prediction is computed, uncached."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from ml.scoring import ScoreModel, cache_key

log = logging.getLogger(__name__)
CHUNK = 50
STATS_KEY = "learntwin:prediction-stats"
KEY_PATTERN = "learntwin:prediction:*"


@dataclass(frozen=True)
class Predicted:
    score: float
    persona: str | None
    cached: bool


@dataclass(frozen=True)
class BatchResult:
    predictions: list[Predicted]
    cache_hits: int
    processing_ms: float


async def predict_batch(
    redis: ArqRedis, model: ScoreModel, rows: Sequence[Sequence[float]], ttl_seconds: int
) -> BatchResult:
    began = time.perf_counter()
    out: list[Predicted] = []
    hits = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        keys = [cache_key(model.version, row) for row in chunk]
        try:
            cached = await redis.mget(keys)
        except (RedisError, OSError):
            log.warning("prediction cache unavailable: computing %d predictions", len(chunk))
            cached = [None] * len(chunk)
        missing = [i for i, value in enumerate(cached) if value is None]
        fresh: dict[int, Predicted] = {}
        if missing:
            scores, personas = model.predict(np.array([chunk[i] for i in missing], dtype=float))
            for i, score, persona in zip(missing, scores, personas, strict=True):
                fresh[i] = Predicted(round(float(score), 2), persona, False)
        chunk_hits = len(chunk) - len(missing)
        hits += chunk_hits
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for i, predicted in fresh.items():
                    pipe.set(
                        keys[i], orjson.dumps([predicted.score, predicted.persona]), ex=ttl_seconds
                    )
                pipe.hincrby(STATS_KEY, "hits", chunk_hits)
                pipe.hincrby(STATS_KEY, "misses", len(missing))
                await pipe.execute()
        except (RedisError, OSError):
            pass  # already logged on the read; the answers stand without the cache
        for i, value in enumerate(cached):
            if value is None:
                out.append(fresh[i])
            else:
                score, persona = orjson.loads(value)
                out.append(Predicted(score, persona, True))
    return BatchResult(out, hits, (time.perf_counter() - began) * 1000)


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
