"""Class analytics outside the request's loaders: the class list, a class's mastery for
the REST routes and live subscriptions, and the teaching recommendations over it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db import classes, metric_reads
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.runtime import Runtime
from ml.metrics import MasteryStats
from ml.recommendations import Recommendation, recommend


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise BadUserInput("`from` must not be after `to`.", field="from")


async def class_page(
    runtime: Runtime, principal: Principal, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` classes in id order after `after` (staff)."""
    permissions.require_staff(principal)
    return await classes.class_page(runtime.reads, after, limit)


async def class_mastery(
    runtime: Runtime,
    principal: Principal,
    class_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> MasteryStats:
    """A class's mastery over [start, end), read fresh (staff); empty for a class with
    no records yet."""
    permissions.require_staff(principal)
    check_range(start, end)
    found = await metric_reads.mastery(runtime.reads, "class_id", [class_id], start, end)
    return found.get(class_id) or metric_reads.empty_mastery("class_id", class_id)


def recommendations(runtime: Runtime, stats: MasteryStats) -> list[Recommendation]:
    """The teaching recommendations for a mastery, with the configured thresholds."""
    return recommend(stats, runtime.settings.recommend)
