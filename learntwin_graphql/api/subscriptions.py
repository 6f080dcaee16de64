"""Subscriptions: the current state at once, then again after every change.

Subscriptions read fresh from Postgres each time (never the connection-long loader
cache) and are woken by the process's pub/sub broker."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from db import profiles, tasks
from learntwin_graphql import permissions
from learntwin_graphql.api.classes import Mastery
from learntwin_graphql.api.profiles import Profile
from learntwin_graphql.api.tasks import Task
from learntwin_graphql.context import Info
from learntwin_graphql.errors import NotFound
from learntwin_graphql.services import analytics
from workers.keys import class_channel, profile_channel, task_channel

# A lost notification (e.g. Redis restarting) delays a subscriber by at most this long.
RESYNC_SECONDS = 30.0


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The class's mastery now, then again after every ingest that touches the class."
    )
    async def class_mastery(
        self,
        info: Info,
        class_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The class (staff); each event is its whole-history mastery, "
                "with the same `id` as `class(id) { mastery }`."
            ),
        ],
    ) -> AsyncGenerator[Mastery, None]:
        runtime, principal = info.context.runtime, info.context.principal
        permissions.require_staff(principal)
        async with runtime.broker.watch(class_channel(class_id)) as watch:
            last = await analytics.class_mastery(runtime, principal, class_id)
            yield Mastery.from_stats(last)
            while True:
                await watch.wait(RESYNC_SECONDS)
                now = await analytics.class_mastery(runtime, principal, class_id)
                if now != last:
                    last = now
                    yield Mastery.from_stats(now)

    @strawberry.subscription(
        description="The task's state now, then each change; completes after SUCCEEDED or FAILED."
    )
    async def task(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The task (the caller's own).")
        ],
    ) -> AsyncGenerator[Task, None]:
        runtime, principal = info.context.runtime, info.context.principal
        permissions.require_authenticated(principal)
        async with runtime.broker.watch(task_channel(id)) as watch:
            row = await tasks.get(runtime.reads, id)
            if row is None:
                raise NotFound(f"No task {id!r}.")
            permissions.require_task_owner(principal, row)
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
        self,
        info: Info,
        student_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The student (a LEARNER: its own)."),
        ],
    ) -> AsyncGenerator[Profile, None]:
        runtime = info.context.runtime
        permissions.require_student(info.context.principal, student_id)
        async with runtime.broker.watch(profile_channel(student_id)) as watch:
            # Only profiles stored from now on: start after the newest one there is.
            newest = (await profiles.latest_profiles(runtime.reads, [student_id])).get(student_id)
            after = (newest["created_at"], newest["id"]) if newest else None
            while True:
                await watch.wait(RESYNC_SECONDS)
                for row in await profiles.profiles_after(runtime.reads, student_id, after):
                    after = (row["created_at"], row["id"])
                    yield Profile.from_row(row)
