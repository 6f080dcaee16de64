"""Background tasks: the row first (inside the caller's transaction), then its job."""

from __future__ import annotations

from typing import Any

from learntwin_graphql.errors import ApiError
from learntwin_graphql.runtime import Runtime
from workers import queueing


async def enqueue(runtime: Runtime, task: dict[str, Any], job: str) -> None:
    """Queue a committed task's job. A task that cannot be queued is already FAILED (by
    `queueing.enqueue`), and the caller is told so."""
    try:
        await queueing.enqueue(runtime.engine, runtime.redis, task, job)
    except queueing.QueueUnavailable:
        raise ApiError(
            "Background work is unavailable right now; the task was not queued."
        ) from None
