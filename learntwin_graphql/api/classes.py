"""Class analytics: classes, students, metrics, mastery, recommendations, export links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.dashboard import StudentPlans
from learntwin_graphql.api.docs import After, First, From, To, describe_values
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
    encode_cursor,
)
from learntwin_graphql.services import analytics, exports
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
                after=after,
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
    return mapped(found, lambda stats: Mastery.from_stats(stats, from_, to))


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


@strawberry.type(
    description="A learner, known by the id the data sources use; what a LEARNER may "
    "read is only its own student."
)
class Student(StudentLearning, StudentEnrollments, StudentPlans, StudentChats):
    id: strawberry.ID = strawberry.field(
        description="The student's id, as sent with its records (any text up to 1000 characters)."
    )

    @strawberry.field(description="The classes the student has records in, by id.")
    @batched(_student_classes)
    async def classes(self, info: Info) -> list[Class]:
        return await one(_student_classes(info, [self]))

    @strawberry.field(
        description="The student's records in every class, oldest first, within the range."
    )
    @batched(_student_metrics)
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: To = None,
        first: First = 100,
        after: After = None,
    ) -> Connection[Metric]:
        return await one(_student_metrics(info, [self], from_, to, first, after))

    @strawberry.field(
        description="The student's engagement over the range, across classes; rates null "
        "without records."
    )
    @batched(_student_masteries)
    async def mastery(self, info: Info, from_: From = None, to: To = None) -> Mastery:
        return await one(_student_masteries(info, [self], from_, to))

    @strawberry.field(description="The student's graded quiz attempts, newest first.")
    @batched(_student_attempts)
    async def quiz_attempts(self, info: Info, first: First = 20) -> list[QuizAttempt]:
        return await one(_student_attempts(info, [self], first))

    @strawberry.field(
        description="Score predictions stored on the student (predictScores with a "
        "studentId), newest first."
    )
    @batched(_student_predictions)
    async def predictions(self, info: Info, first: First = 20) -> list[Prediction]:
        return await one(_student_predictions(info, [self], first))

    @strawberry.field(
        description="The profile of the newest analysed quiz attempt; null before any."
    )
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
            ids, first, key=lambda sid: (sid,), node=lambda sid: Student(id=sid), after=after
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
    return mapped(found, lambda stats: Mastery.from_stats(stats, from_, to))


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


@strawberry.type(
    description="A class: the students and records that share a class id. A class exists "
    "once a record names it."
)
class Class:
    id: strawberry.ID = strawberry.field(
        description="The class's id, as sent with its records (any text up to 1000 characters)."
    )

    @strawberry.field(description="Distinct students with records in the class.")
    @batched(_student_counts)
    async def student_count(self, info: Info) -> int:
        return await one(_student_counts(info, [self]))

    @strawberry.field(description="The class's students, ordered by id.")
    @batched(_class_students)
    async def students(
        self, info: Info, first: First = 100, after: After = None
    ) -> Connection[Student]:
        return await one(_class_students(info, [self], first, after))

    @strawberry.field(description="The class's records, oldest first, within the range.")
    @batched(_class_metrics)
    async def metrics(
        self,
        info: Info,
        from_: From = None,
        to: To = None,
        first: First = 100,
        after: After = None,
    ) -> Connection[Metric]:
        return await one(_class_metrics(info, [self], from_, to, first, after))

    @strawberry.field(
        description="The class's engagement over the range; over the whole history by "
        "default, the same object (same id) the classMastery subscription pushes."
    )
    @batched(_class_masteries)
    async def mastery(self, info: Info, from_: From = None, to: To = None) -> Mastery:
        return await one(_class_masteries(info, [self], from_, to))

    @strawberry.field(
        description="Teaching suggestions from the class's mastery over the range, most "
        "urgent first; empty without records."
    )
    @batched(_class_recommendations)
    async def recommendations(
        self, info: Info, from_: From = None, to: To = None
    ) -> list[TeachingRecommendation]:
        return await one(_class_recommendations(info, [self], from_, to))

    @strawberry.field(
        description="A link a browser can open as is (it carries a short-lived signed token)."
        " Staff only. It downloads the class's records in the range as CSV, for "
        "LEARNTWIN_EXPORT_TOKEN_TTL seconds (900 by default); it starts with "
        "LEARNTWIN_PUBLIC_URL when set, else with the server's own address."
    )
    def export_url(self, info: Info, from_: From = None, to: To = None) -> str:
        context = info.context
        return exports.export_link(
            context.runtime,
            context.principal,
            exports.server_base_url(context.request.scope, context.settings.allowed_hosts),
            self.id,
            from_,
            to,
        )


@strawberry.type
class ClassQuery:
    @strawberry.field(
        name="class",
        description="A class by id (staff); null when no record names it.",
    )
    async def class_(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The class's id.")],
    ) -> Class | None:
        return Class(id=id) if await info.context.loaders.class_exists.load(id) else None

    @strawberry.field(description="Every class (staff), ordered by id.")
    async def classes(
        self, info: Info, first: First = 50, after: After = None
    ) -> Connection[Class]:
        check_first(first, info.context.settings.max_page_size)
        key = decode_cursor(after, str)
        rows = await analytics.class_page(
            info.context.runtime, info.context.principal, key[0] if key else None, first + 1
        )
        return build_connection(
            rows,
            first,
            key=lambda row: (row["id"],),
            node=lambda row: Class(id=row["id"]),
            after=after,
        )

    @strawberry.field(
        description="A student by id; null when none is known. A LEARNER may ask only for its own."
    )
    async def student(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The student's id.")],
    ) -> Student | None:
        return Student(id=id) if await info.context.loaders.student_exists.load(id) else None
