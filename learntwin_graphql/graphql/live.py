"""Subscriptions: the current state at once, then again after every change.

Subscriptions read fresh from Postgres each time (never the connection-long loader
cache) and are woken by the process's pub/sub broker."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from db import metrics
from learntwin_graphql.context import Info
from learntwin_graphql.graphql.classes import Mastery
from workers.events import class_channel

# A lost notification (e.g. Redis restarting) delays a subscriber by at most this long.
RESYNC_SECONDS = 30.0


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The class's mastery now, then again after every ingest that touches the class."
    )
    async def class_mastery(
        self, info: Info, class_id: strawberry.ID
    ) -> AsyncGenerator[Mastery, None]:
        info.context.loaders.check_staff()
        runtime = info.context.runtime

        async def current() -> metrics.MasteryStats:
            found = await metrics.mastery(runtime.engine, "class_id", [class_id], None, None)
            return found.get(class_id) or metrics.empty_mastery("class_id", class_id)

        async with runtime.broker.watch(class_channel(class_id)) as watch:
            last = await current()
            yield Mastery.from_stats(last)
            while True:
                await watch.wait(RESYNC_SECONDS)
                now = await current()
                if now != last:
                    last = now
                    yield Mastery.from_stats(now)
