"""Class analytics: classes, students, metrics, mastery, recommendations, export links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.predictions import Prediction
from learntwin_graphql.api.profiles import Profile
from learntwin_graphql.api.quizzes import QuizAttempt
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import Connection, build_connection, check_first, decode_cursor
from learntwin_graphql.services import analytics, exports
from learntwin_graphql.timeutil import format_datetime
from ml.metrics import MasteryStats
from ml.recommendations import Priority, Recommendation, TeachingAction

PriorityEnum = strawberry.enum(Priority, name="Priority")
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


async def _metrics_page(
    info: Info,
    loader: Any,
    owner: str,
    start: datetime | None,
    end: datetime | None,
    first: int,
    after: str | None,
) -> Connection[Metric]:
    check_first(first, info.context.settings.max_page_size)
    analytics.check_range(start, end)
    position = decode_cursor(after, datetime, int)
    rows = await loader.load((owner, start, end, position, first + 1))
    return build_connection(
        rows, first, key=lambda row: (format_datetime(row["ts"]), row["id"]), node=Metric.from_row
    )


@strawberry.type
class Student:
    id: strawberry.ID

    @strawberry.field
    async def classes(self, info: Info) -> list[Class]:
        ids = await info.context.loaders.student_classes.load(self.id)
        return [Class(id=class_id) for class_id in ids]

    @strawberry.field
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Metric]:
        return await _metrics_page(
            info, info.context.loaders.student_metrics, self.id, from_, to, first, after
        )

    @strawberry.field
    async def mastery(self, info: Info, from_: From = None, to: datetime | None = None) -> Mastery:
        analytics.check_range(from_, to)
        stats = await info.context.loaders.student_mastery.load((self.id, from_, to))
        return Mastery.from_stats(stats)

    @strawberry.field(description="Newest first.")
    async def quiz_attempts(self, info: Info, first: int = 20) -> list[QuizAttempt]:
        check_first(first, info.context.settings.max_page_size)
        rows = await info.context.loaders.student_attempts.load((self.id, first))
        return [QuizAttempt.from_row(row) for row in rows]

    @strawberry.field(description="Newest first.")
    async def predictions(self, info: Info, first: int = 20) -> list[Prediction]:
        check_first(first, info.context.settings.max_page_size)
        rows = await info.context.loaders.student_predictions.load((self.id, first))
        return [Prediction.from_row(row) for row in rows]

    @strawberry.field(description="The profile of the newest quiz attempt.")
    async def profile(self, info: Info) -> Profile | None:
        row = await info.context.loaders.latest_profile.load(self.id)
        return Profile.from_row(row) if row else None


@strawberry.type
class Class:
    id: strawberry.ID

    @strawberry.field
    async def student_count(self, info: Info) -> int:
        return await info.context.loaders.student_count.load(self.id)

    @strawberry.field
    async def students(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[Student]:
        check_first(first, info.context.settings.max_page_size)
        key = decode_cursor(after, str)
        position = key[0] if key is not None else None
        ids = await info.context.loaders.class_students.load((self.id, position, first + 1))
        return build_connection(
            ids, first, key=lambda sid: (sid,), node=lambda sid: Student(id=sid)
        )

    @strawberry.field
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> Connection[Metric]:
        return await _metrics_page(
            info, info.context.loaders.class_metrics, self.id, from_, to, first, after
        )

    @strawberry.field
    async def mastery(self, info: Info, from_: From = None, to: datetime | None = None) -> Mastery:
        analytics.check_range(from_, to)
        return Mastery.from_stats(
            await info.context.loaders.class_mastery.load((self.id, from_, to))
        )

    @strawberry.field
    async def recommendations(
        self, info: Info, from_: From = None, to: datetime | None = None
    ) -> list[TeachingRecommendation]:
        analytics.check_range(from_, to)
        stats = await info.context.loaders.class_mastery.load((self.id, from_, to))
        rules = analytics.recommendations(info.context.runtime, stats)
        return [TeachingRecommendation.from_rule(r) for r in rules]

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
