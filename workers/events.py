"""Change notifications over Redis pub/sub. They only say *that* something changed;
subscribers re-read the state from Postgres, the source of truth."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import orjson
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from workers.keys import EVENT_PREFIX

log = logging.getLogger(__name__)


async def publish(redis: ArqRedis, channels: Iterable[str], payload: dict | None = None) -> bool:
    """Publish after the change is committed, on each channel (named in `workers.keys`).
    A Redis outage costs only the notification: subscribers re-read on reconnect."""
    names = list(channels)
    if not names:
        return True
    body = orjson.dumps(payload or {})
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for channel in names:
                pipe.publish(EVENT_PREFIX + channel, body)
            await pipe.execute()
        return True
    except (RedisError, OSError):
        log.warning("could not publish %d change notification(s): Redis unavailable", len(names))
        return False
