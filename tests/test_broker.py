"""The per-process pub/sub broker against real Redis: a watch wakes on its own channels
only, marks coalesce instead of queueing, leaving a watch forgets it, and a reconnect
marks every watch (messages may have been lost while the connection was down)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from learntwin_graphql.broker import Broker, Watch
from tests.conftest import Services
from tests.test_reliability import RedisProcess, redis_process  # noqa: F401 (fixture)
from workers.events import publish
from workers.keys import task_channel
from workers.redis import connect

# Long enough for a message to cross a local Redis; short enough that a wait that is
# meant to time out keeps the test quick.
ARRIVES_WITHIN = 5.0
QUIET_FOR = 0.3


def channel() -> str:
    """A channel of this test alone: pub/sub is shared by every database of a server."""
    return task_channel(f"broker-test-{uuid.uuid4()}")


@contextlib.asynccontextmanager
async def running_broker(redis_url: str) -> AsyncIterator[Broker]:
    broker = Broker(redis_url)
    try:
        yield broker
    finally:
        await broker.close()


async def connected(broker: Broker, *watches: Watch) -> None:
    """Wait for the broker's connection, and take the mark it gives every watch then."""
    await asyncio.wait_for(broker.connected.wait(), ARRIVES_WITHIN)
    for watch in watches:
        assert await watch.wait(ARRIVES_WITHIN)


async def announce(redis_url: str, *channels: str) -> None:
    redis = connect(redis_url)
    try:
        assert await publish(redis, channels)
    finally:
        await redis.aclose()


async def test_a_watch_wakes_on_its_own_channels_only(services: Services) -> None:
    mine, other, unwatched = channel(), channel(), channel()
    async with (
        running_broker(services.redis_url) as broker,
        broker.watch(mine, other) as watch,
        broker.watch(other) as neighbour,
    ):
        await connected(broker, watch, neighbour)
        await announce(services.redis_url, unwatched)
        assert not await watch.wait(QUIET_FOR)

        await announce(services.redis_url, mine)
        assert await watch.wait(ARRIVES_WITHIN)
        assert not await neighbour.wait(QUIET_FOR)

        # One channel, two watchers: both wake.
        await announce(services.redis_url, other)
        assert await watch.wait(ARRIVES_WITHIN)
        assert await neighbour.wait(ARRIVES_WITHIN)


async def test_marks_coalesce_so_a_slow_watcher_sees_one_change(services: Services) -> None:
    busy, sentinel = channel(), channel()
    async with (
        running_broker(services.redis_url) as broker,
        broker.watch(busy) as slow,
        broker.watch(sentinel) as probe,
    ):
        await connected(broker, slow, probe)
        for _ in range(20):
            await announce(services.redis_url, busy)
        # Messages arrive in order on the one connection: once the sentinel is in, so
        # are the twenty before it.
        await announce(services.redis_url, sentinel)
        assert await probe.wait(ARRIVES_WITHIN)

        assert await slow.wait(0)  # the twenty changes, seen as one...
        assert not await slow.wait(QUIET_FOR)  # ...with no backlog behind it


async def test_leaving_a_watch_forgets_it(services: Services) -> None:
    watched = channel()
    async with running_broker(services.redis_url) as broker:
        async with broker.watch(watched) as first, broker.watch(watched) as second:
            await connected(broker, first, second)
        async with broker.watch(watched) as third:
            assert not await third.wait(QUIET_FOR)  # no mark left over from the others
            await announce(services.redis_url, watched)
            assert await third.wait(ARRIVES_WITHIN)
        # With its last watcher gone, the channel is no longer fanned out to anyone.
        assert watched not in broker._watches


@pytest.mark.slow
async def test_a_reconnect_marks_every_watch(
    redis_process: RedisProcess,  # noqa: F811
) -> None:
    one, two = channel(), channel()
    async with (
        running_broker(redis_process.url) as broker,
        broker.watch(one) as first,
        broker.watch(two) as second,
    ):
        await connected(broker, first, second)
        await asyncio.to_thread(redis_process.kill)
        # Losing the connection marks nothing by itself: a re-read is worth it only once
        # the broker can hear what follows it.
        assert not await first.wait(QUIET_FOR)
        await asyncio.to_thread(redis_process.start)
        async with asyncio.timeout(ARRIVES_WITHIN * 2):
            # The broker backs off between attempts (at most 5 s); once back, every
            # watch is marked, so every subscriber re-reads what it may have missed.
            assert await first.wait(None)
            assert await second.wait(None)
        assert broker.connected.is_set()
        await announce(redis_process.url, two)
        assert await second.wait(ARRIVES_WITHIN)
        assert not await first.wait(QUIET_FOR)
