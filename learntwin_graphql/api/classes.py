"""Class analytics: classes, students, metrics, mastery, recommendations, export links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.dashboard import StudentPlans
from learntwin_graphql.api.enrollments import StudentEnrollments
from learntwin_graphql.api.predictions import Prediction
from learntwin_graphql.api.priority import PriorityEnum
from learntwin_graphql.api.profiles import Profile
from learntwin_graphql.api.quizzes import QuizAttempt
from learntwin_graphql.api.skills import StudentLearning
from learntwin_graphql.api.tutor_ops import StudentChats
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import (
    Connection,
    after_position,
    build_connection,
    check_first,
    decode_cursor,
)
from learntwin_graphql.services import analytics, exports
from learntwin_graphql.timeutil import format_datetime
from ml.metrics import MasteryStats
from ml.recommendations import Recommendation, TeachingAction

TeachingActionEnum = strawberry.enum(TeachingAction, name="TeachingAction")
From = Annotated[datetime | None, strawberry.argument(name="from")]


@strawberry.type(
    description="Rates are shares of records (0..1); all are null when there are no records."
)
class Mastery:
    class_id: strawberry.ID | None
    student_id: strawberry.ID | None
    population: int
    students: int
    rate_stuck: float | None
    rate_got_it: float | None
    rate_pause: float | None
    rate_example: float | None
    avg_confidence: float | None
    last_timestamp: datetime | None

    @classmethod
    def from_stats(cls, m: MasteryStats) -> Mastery:
        return cls(
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


@strawberry.type
class TeachingRecommendation:
    action: TeachingActionEnum
    priority: PriorityEnum
    title: str
    rationale: str

    @classmethod
    def from_rule(cls, r: Recommendation) -> TeachingRecommendation:
        return cls(action=r.action, priority=r.priority, title=r.title, rationale=r.rationale)


@strawberry.type
class Metric:
    id: strawberry.ID
    class_id: strawberry.ID
    student_id: strawberry.ID
    stuck: bool
    got_it: bool
    pause: bool
    example: bool
    confidence: float
    timestamp: datetime

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


def _metric_pages(loader: str) -> Callable[..., Awaitable[list[Any]]]:
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
            ),
        )

    return pages


# --- students --------------------------------------------------------------------


async def _student_classes(info: Info, students: Sequence[Student]) -> list[Any]:
    found = await load_each(info.context.loaders.student_classes, [s.id for s in students])
    return mapped(found, lambda ids: [Class(id=class_id) for class_id in ids])


_student_metrics = _metric_pages("student_metrics")


async def _student_masteries(
    info: Info,
    students: Sequence[Student],
    from_: datetime | None = None,
    to: datetime | None = None,
) -> list[Any]:
    analytics.check_range(from_, to)
    found = await load_each(
        info.context.loaders.student_mastery, [(s.id, from_, to) for s in students]
    )
    return mapped(found, Mastery.from_stats)


async def _student_attempts(info: Info, students: Sequence[Student], first: int = 20) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    found = await load_each(
        info.context.loaders.student_attempts, [(s.id, first) for s in students]
    )
    return mapped(found, lambda rows: [QuizAttempt.from_row(row) for row in rows])


async def _student_predictions(
    info: Info, students: Sequence[Student], first: int = 20
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    found = await load_each(
        info.context.loaders.student_predictions, [(s.id, first) for s in students]
    )
    return mapped(found, lambda rows: [Prediction.from_row(row) for row in rows])


async def _student_profiles(info: Info, students: Sequence[Student]) -> list[Any]:
    found = await load_each(info.context.loaders.latest_profile, [s.id for s in students])
    return mapped(found, lambda row: Profile.from_row(row) if row else None)


@strawberry.type
class Student(StudentLearning, StudentEnrollments, StudentPlans, StudentChats):
    id: strawberry.ID

    @strawberry.field
    @batched(_student_classes)
    async def classes(self, info: Info) -> list[Class]:
        return await one(_student_classes(info, [self]))

    @strawberry.field
    @batched(_student_metrics)
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Metric]:
        return await one(_student_metrics(info, [self], from_, to, first, after))

    @strawberry.field
    @batched(_student_masteries)
    async def mastery(self, info: Info, from_: From = None, to: datetime | None = None) -> Mastery:
        return await one(_student_masteries(info, [self], from_, to))

    @strawberry.field(description="Newest first.")
    @batched(_student_attempts)
    async def quiz_attempts(self, info: Info, first: int = 20) -> list[QuizAttempt]:
        return await one(_student_attempts(info, [self], first))

    @strawberry.field(description="Newest first.")
    @batched(_student_predictions)
    async def predictions(self, info: Info, first: int = 20) -> list[Prediction]:
        return await one(_student_predictions(info, [self], first))

    @strawberry.field(description="The profile of the newest quiz attempt.")
    @batched(_student_profiles)
    async def profile(self, info: Info) -> Profile | None:
        return await one(_student_profiles(info, [self]))


# --- classes ---------------------------------------------------------------------


async def _student_counts(info: Info, classes: Sequence[Class]) -> list[Any]:
    return await load_each(info.context.loaders.student_count, [c.id for c in classes])


async def _class_students(
    info: Info, classes: Sequence[Class], first: int = 100, after: str | None = None
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    found = await load_each(
        info.context.loaders.class_students, [(c.id, position, first + 1) for c in classes]
    )
    return mapped(
        found,
        lambda ids: build_connection(
            ids, first, key=lambda sid: (sid,), node=lambda sid: Student(id=sid)
        ),
    )


_class_metrics = _metric_pages("class_metrics")


async def _class_masteries(
    info: Info, classes: Sequence[Class], from_: datetime | None = None, to: datetime | None = None
) -> list[Any]:
    analytics.check_range(from_, to)
    found = await load_each(
        info.context.loaders.class_mastery, [(c.id, from_, to) for c in classes]
    )
    return mapped(found, Mastery.from_stats)


async def _class_recommendations(
    info: Info, classes: Sequence[Class], from_: datetime | None = None, to: datetime | None = None
) -> list[Any]:
    analytics.check_range(from_, to)
    found = await load_each(
        info.context.loaders.class_mastery, [(c.id, from_, to) for c in classes]
    )
    return mapped(
        found,
        lambda stats: [
            TeachingRecommendation.from_rule(rule)
            for rule in analytics.recommendations(info.context.runtime, stats)
        ],
    )


@strawberry.type
class Class:
    id: strawberry.ID

    @strawberry.field
    @batched(_student_counts)
    async def student_count(self, info: Info) -> int:
        return await one(_student_counts(info, [self]))

    @strawberry.field
    @batched(_class_students)
    async def students(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[Student]:
        return await one(_class_students(info, [self], first, after))

    @strawberry.field
    @batched(_class_metrics)
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Metric]:
        return await one(_class_metrics(info, [self], from_, to, first, after))

    @strawberry.field
    @batched(_class_masteries)
    async def mastery(self, info: Info, from_: From = None, to: datetime | None = None) -> Mastery:
        return await one(_class_masteries(info, [self], from_, to))

    @strawberry.field
    @batched(_class_recommendations)
    async def recommendations(
        self, info: Info, from_: From = None, to: datetime | None = None
    ) -> list[TeachingRecommendation]:
        return await one(_class_recommendations(info, [self], from_, to))

    @strawberry.field(
        description="A link a browser can open as is (it carries a short-lived signed token)."
    )
    def export_url(self, info: Info, from_: From = None, to: datetime | None = None) -> str:
        context = info.context
        return exports.export_link(
            context.runtime,
            context.principal,
            str(context.request.base_url),
            self.id,
            from_,
            to,
        )


@strawberry.type
class ClassQuery:
    @strawberry.field(name="class")
    async def class_(self, info: Info, id: strawberry.ID) -> Class | None:
        return Class(id=id) if await info.context.loaders.class_exists.load(id) else None

    @strawberry.field
    async def classes(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[Class]:
        check_first(first, info.context.settings.max_page_size)
        key = decode_cursor(after, str)
        rows = await analytics.class_page(
            info.context.runtime, info.context.principal, key[0] if key else None, first + 1
        )
        return build_connection(
            rows, first, key=lambda row: (row["id"],), node=lambda row: Class(id=row["id"])
        )

    @strawberry.field
    async def student(self, info: Info, id: strawberry.ID) -> Student | None:
        return Student(id=id) if await info.context.loaders.student_exists.load(id) else None
