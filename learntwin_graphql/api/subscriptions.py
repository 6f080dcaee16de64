"""Subscriptions: the current state at once, then again after every change.

Subscriptions read fresh from Postgres each time (never the connection-long loader
cache) and are woken by the process's pub/sub broker."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from db import metrics, profiles, tasks
from learntwin_graphql.api.classes import Mastery
from learntwin_graphql.api.learning import Profile, Task
from learntwin_graphql.context import Info
from learntwin_graphql.errors import NotFound
from workers.events import class_channel
from workers.tasks import profile_channel, task_channel

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
            found = await metrics.mastery(runtime.reads, "class_id", [class_id], None, None)
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

    @strawberry.subscription(
        description="The task's state now, then each change; completes after SUCCEEDED or FAILED."
    )
    async def task(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Task, None]:
        info.context.require()
        runtime = info.context.runtime
        async with runtime.broker.watch(task_channel(id)) as watch:
            row = await tasks.get(runtime.reads, id)
            if row is None:
                raise NotFound(f"No task {id!r}.")
            info.context.loaders.check_task(row)
            last = None
            while True:
                state = (row["status"], row["result_id"], row["error"], row["finished_at"])
                if state != last:
                    last = state
                    yield Task.from_row(row)
                if row["status"] in tasks.FINISHED:
                    return
                await watch.wait(RESYNC_SECONDS)
                row = await tasks.get(runtime.reads, id) or row

    @strawberry.subscription(
        description="Each new profile of the student, as soon as it is stored."
    )
    async def profile_updated(
        self, info: Info, student_id: strawberry.ID
    ) -> AsyncGenerator[Profile, None]:
        info.context.loaders.check_student(student_id)
        runtime = info.context.runtime
        async with runtime.broker.watch(profile_channel(student_id)) as watch:
            # Only profiles stored from now on: start after the newest one there is.
            newest = (await profiles.latest_profiles(runtime.reads, [student_id])).get(student_id)
            after = (newest["created_at"], newest["id"]) if newest else None
            while True:
                await watch.wait(RESYNC_SECONDS)
                for row in await profiles.profiles_after(runtime.reads, student_id, after):
                    after = (row["created_at"], row["id"])
                    yield Profile.from_row(row)
