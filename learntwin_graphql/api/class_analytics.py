"""The analytics types of classes and students: metric records, mastery over a range
(with a stable id for client caches) and teaching recommendations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry

from learntwin_graphql.api.docs import describe_values
from learntwin_graphql.api.priority import PriorityEnum
from learntwin_graphql.batching import load_each, mapped
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import (
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
)
from learntwin_graphql.services import analytics
from learntwin_graphql.timeutil import format_datetime
from ml.metrics import MasteryStats
from ml.recommendations import Recommendation, TeachingAction

TeachingActionEnum = describe_values(
    strawberry.enum(
        TeachingAction,
        name="TeachingAction",
        description="What a teacher could do for a class, suggested from its mastery.",
    ),
    RECAP="Go over the material again: many records are stuck or confidence is low.",
    MORE_EXAMPLES="Show more worked examples: many records ask for one.",
    MICRO_BREAKS="Add short breaks: many records ask for a pause.",
    ENRICHMENT="Offer harder material: most records got it, with high confidence.",
)


def mastery_id(
    scope: str, owner_id: str, start: datetime | None, end: datetime | None
) -> strawberry.ID:
    """The id of one scope's (`class` or `student`) mastery over one range: the same for
    the same owner and range whichever field computed it, different for any other."""
    key = [
        "Mastery",
        scope,
        owner_id,
        format_datetime(start) if start else None,
        format_datetime(end) if end else None,
    ]
    return strawberry.ID(encode_cursor(key))


@strawberry.type(
    description="Engagement of a class or of one student over a time range, summed over "
    "the metric records in it. Rates are shares of records (0..1); all are null when "
    "there are no records. A class's mastery has `classId` set, a student's `studentId`."
)
class Mastery:
    id: strawberry.ID = strawberry.field(
        description="Stable for one class (or student) and one range: `Class.mastery` and "
        "the `classMastery` subscription give the same id for the same class over the "
        "default (whole) range, so a normalizing cache updates one object. Opaque."
    )
    class_id: strawberry.ID | None = strawberry.field(
        description="The class summed over; null for a student's mastery."
    )
    student_id: strawberry.ID | None = strawberry.field(
        description="The student summed over; null for a class's mastery."
    )
    population: int = strawberry.field(description="Metric records in the range (0 or more).")
    students: int = strawberry.field(
        description="Distinct students with records in the range (1 at most for a student)."
    )
    rate_stuck: float | None = strawberry.field(
        description="Share of records flagged stuck, 0..1; null without records."
    )
    rate_got_it: float | None = strawberry.field(
        description="Share of records flagged got-it, 0..1; null without records."
    )
    rate_pause: float | None = strawberry.field(
        description="Share of records asking for a pause, 0..1; null without records."
    )
    rate_example: float | None = strawberry.field(
        description="Share of records asking for an example, 0..1; null without records."
    )
    avg_confidence: float | None = strawberry.field(
        description="Mean self-reported confidence of the records, on their 1..10 scale; "
        "null without records."
    )
    last_timestamp: datetime | None = strawberry.field(
        description="When the newest record in the range was taken (UTC); null without records."
    )

    @classmethod
    def from_stats(
        cls, m: MasteryStats, start: datetime | None = None, end: datetime | None = None
    ) -> Mastery:
        """`start` and `end`: the range the stats were summed over (None: unbounded)."""
        if m.class_id is not None:
            id_ = mastery_id("class", m.class_id, start, end)
        else:
            id_ = mastery_id("student", m.student_id or "", start, end)
        return cls(
            id=id_,
            class_id=m.class_id,
            student_id=m.student_id,
            population=m.population,
            students=m.students,
            rate_stuck=m.rate_stuck,
            rate_got_it=m.rate_got_it,
            rate_pause=m.rate_pause,
            rate_example=m.rate_example,
            avg_confidence=m.avg_confidence,
            last_timestamp=m.last_timestamp,
        )


@strawberry.type(
    description="A suggestion for teaching a class, from rules over its mastery "
    "(thresholds set by LEARNTWIN_RECOMMEND)."
)
class TeachingRecommendation:
    action: TeachingActionEnum = strawberry.field(description="What to do.")
    priority: PriorityEnum = strawberry.field(description="How urgent it is.")
    title: str = strawberry.field(description="A short heading to show, in English.")
    rationale: str = strawberry.field(
        description="Why it fires, in English, quoting the rates behind it (e.g. '42% of "
        "records were stuck')."
    )

    @classmethod
    def from_rule(cls, r: Recommendation) -> TeachingRecommendation:
        return cls(action=r.action, priority=r.priority, title=r.title, rationale=r.rationale)


@strawberry.type(
    description="One stored engagement record: a student's check-in during a class "
    "(from ingestMetrics or the REST ingest)."
)
class Metric:
    id: strawberry.ID = strawberry.field(description="Server-made id of the record.")
    class_id: strawberry.ID = strawberry.field(description="The class it was taken in.")
    student_id: strawberry.ID = strawberry.field(description="The student it is about.")
    stuck: bool = strawberry.field(description="The student said they were stuck.")
    got_it: bool = strawberry.field(description="The student said they understood.")
    pause: bool = strawberry.field(description="The student asked for a pause.")
    example: bool = strawberry.field(description="The student asked for an example.")
    confidence: float = strawberry.field(description="Self-reported confidence, 1..10.")
    timestamp: datetime = strawberry.field(
        description="When it was taken (UTC); the time of ingest when none was sent."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Metric:
        return cls(
            id=strawberry.ID(str(row["id"])),
            class_id=row["class_id"],
            student_id=row["student_id"],
            stuck=row["stuck"],
            got_it=row["got_it"],
            pause=row["pause"],
            example=row["example"],
            confidence=row["confidence"],
            timestamp=row["ts"],
        )


def metric_pages(loader: str) -> Callable[..., Awaitable[list[Any]]]:
    """The batch form of a `metrics` connection over the owners' records."""

    async def pages(
        info: Info,
        owners: Sequence[Any],
        from_: datetime | None = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> list[Any]:
        check_first(first, info.context.settings.max_page_size)
        analytics.check_range(from_, to)
        position = decode_cursor(after, datetime, int)
        found = await load_each(
            getattr(info.context.loaders, loader),
            [(owner.id, from_, to, position, first + 1) for owner in owners],
        )
        return mapped(
            found,
            lambda rows: build_connection(
                rows,
                first,
                key=lambda row: (format_datetime(row["ts"]), row["id"]),
                node=Metric.from_row,
                after=after,
            ),
        )

    return pages
