"""One Redis pub/sub connection per API process, fanned out to subscriptions.

A notification only marks a subscription as changed; the subscription re-reads its
state from Postgres. Marks coalesce, so a slow subscriber costs nothing to anyone else
and never grows a backlog. After a reconnect every subscription is marked, because
messages may have been lost while the connection was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from workers.keys import EVENT_PREFIX
from workers.redis import connect

log = logging.getLogger(__name__)


class Watch:
    """A subscriber's view of one or more channels: wait for the next change."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def mark(self) -> None:
        self._changed.set()

    async def wait(self, within: float | None = None) -> bool:
        """True when something changed, False when the timeout passed first. A change
        already marked returns at once, even with no time to wait (`within=0`)."""
        if not self._changed.is_set():
            try:
                await asyncio.wait_for(self._changed.wait(), within)
            except TimeoutError:
                return False
        self._changed.clear()
        return True


class Broker:
    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._watches: dict[str, set[Watch]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pubsub-broker")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            # redis-py may swallow a cancellation inside a read; the flag and the short
            # read timeout end the loop regardless, and the wait is bounded.
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None

    @contextlib.asynccontextmanager
    async def watch(self, *channels: str) -> AsyncIterator[Watch]:
        self.start()
        watch = Watch()
        for channel in channels:
            self._watches.setdefault(channel, set()).add(watch)
        try:
            yield watch
        finally:
            for channel in channels:
                watchers = self._watches.get(channel)
                if watchers is not None:
                    watchers.discard(watch)
                    if not watchers:
                        del self._watches[channel]

    def _mark_all(self) -> None:
        for watchers in self._watches.values():
            for watch in watchers:
                watch.mark()

    async def _run(self) -> None:
        delay = 0.2
        while not self._closing:
            redis = connect(self._redis_url)
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(EVENT_PREFIX + "*")
                self.connected.set()
                # Whatever happened while we were away, every subscriber re-reads now.
                self._mark_all()
                delay = 0.2
                while not self._closing:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    for watch in self._watches.get(channel.removeprefix(EVENT_PREFIX), ()):
                        watch.mark()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("pub/sub connection lost (%s); reconnecting", exc)
                self.connected.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await redis.aclose()
