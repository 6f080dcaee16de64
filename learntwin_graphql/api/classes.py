"""Classes and students: their members, metrics, mastery, recommendations and export
links (the analytics types are in api/class_analytics.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.class_analytics import (
    Mastery,
    Metric,
    TeachingRecommendation,
    metric_pages,
)
from learntwin_graphql.api.dashboard import StudentPlans
from learntwin_graphql.api.docs import After, First, From, To
from learntwin_graphql.api.enrollments import StudentEnrollments
from learntwin_graphql.api.predictions import Prediction
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

# --- students --------------------------------------------------------------------


async def _student_classes(info: Info, students: Sequence[Student]) -> list[Any]:
    found = await load_each(info.context.loaders.student_classes, [s.id for s in students])
    return mapped(found, lambda ids: [Class(id=class_id) for class_id in ids])


_student_metrics = metric_pages("student_metrics")


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


_class_metrics = metric_pages("class_metrics")


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
