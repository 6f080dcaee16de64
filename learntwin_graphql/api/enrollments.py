"""Enrolments: a student's place in a course with the progress that counts, and the
mutations that enrol, drop, record lesson activity and set a student's time zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.api.courses import Course
from learntwin_graphql.api.docs import After, First
from learntwin_graphql.api.goals import LearningGoal
from learntwin_graphql.api.lessons import Lesson
from learntwin_graphql.api.progress_fields import (
    EnrollmentStatus,
    LessonProgress,
    LessonStatus,
    enrollment_pages,
)
from learntwin_graphql.batching import batched, load_each, load_optional, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import (
    Connection,
    build_connection,
    check_first,
    decode_cursor,
)
from learntwin_graphql.services import progress
from ml.course_rules import COMPLETED, enrollment_progress

if TYPE_CHECKING:
    from learntwin_graphql.api.classes import Student

StudentType = Annotated["Student", strawberry.lazy("learntwin_graphql.api.classes")]


async def _courses(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    found = await load_each(info.context.loaders.course, [e.course_id for e in items])
    return mapped(found, lambda row: Course.from_row(row) if row else None)


async def _states(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    """Per enrolment: (published lesson ids in course order, progress rows by lesson)."""
    loaders = info.context.loaders
    lesson_ids = await load_each(loaders.course_lesson_ids, [e.course_id for e in items])
    keys = [
        (lesson, e.student_id)
        for e, ids in zip(items, lesson_ids, strict=True)
        if isinstance(ids, list)
        for lesson in ids
    ]
    rows = dict(zip(keys, await load_each(loaders.lesson_progress, keys), strict=True))
    states = []
    for e, ids in zip(items, lesson_ids, strict=True):
        if isinstance(ids, Exception):
            states.append(ids)
            continue
        found = {i: rows[(i, e.student_id)] for i in ids}
        states.append((ids, {i: r for i, r in found.items() if isinstance(r, dict)}))
    return states


def _counts(state: tuple[list[str], dict[str, Any]]) -> tuple[int, int, float]:
    ids, rows = state
    return enrollment_progress(ids, {i: progress.progress_of(r) for i, r in rows.items()})


async def _progress(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    return mapped(await _states(info, items), lambda s: _counts(s)[2])


async def _completed(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    return mapped(await _states(info, items), lambda s: _counts(s)[0])


async def _total(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    return mapped(await _states(info, items), lambda s: _counts(s)[1])


async def _next_lessons(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    loaders = info.context.loaders
    states = await _states(info, items)
    open_ = {
        e.id: [i for i in s[0] if (s[1].get(i) or {}).get("status") != COMPLETED]
        for e, s in zip(items, states, strict=True)
        if not isinstance(s, Exception)
    }
    keys = [(i, e.student_id) for e in items for i in open_.get(e.id, [])]
    found = dict(zip(keys, await load_each(loaders.availability, keys), strict=True))
    chosen = {
        e.id: next(
            (
                i
                for i in open_.get(e.id, [])
                if getattr(found[(i, e.student_id)], "status", "") == "AVAILABLE"
            ),
            None,
        )
        for e in items
    }
    wanted = [i for i in chosen.values() if i is not None]
    rows = dict(zip(wanted, await load_each(loaders.lesson, wanted), strict=True))
    return [
        s
        if isinstance(s, Exception)
        else (
            Lesson.from_row(rows[chosen[e.id]])
            if chosen[e.id] and isinstance(rows[chosen[e.id]], dict)
            else None
        )
        for e, s in zip(items, states, strict=True)
    ]


async def _lesson_pages(
    info: Info, items: Sequence[Enrollment], first: int = 100, after: str | None = None
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    key = decode_cursor(after, int)
    start = key[0] + 1 if key is not None else 0
    states = await _states(info, items)

    def page(pair: tuple[Enrollment, Any]) -> Any:
        e, (ids, rows) = pair
        window = list(enumerate(ids))[start : start + first + 1]
        return build_connection(
            window,
            first,
            key=lambda item: (item[0],),
            node=lambda item: LessonProgress.from_row(
                rows.get(item[1]) or progress.untouched(e.student_id, item[1])
            ),
            after=after,
        )

    return mapped(
        [s if isinstance(s, Exception) else (e, s) for e, s in zip(items, states, strict=True)],
        page,
    )


async def _goals(info: Info, items: Sequence[Enrollment]) -> list[Any]:
    return await load_optional(
        info.context.loaders.goal, [e.goal_id for e in items], LearningGoal.from_row
    )


@strawberry.type(description="A student's enrolment in a course.")
class Enrollment:
    course_id: strawberry.Private[str]
    goal_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="Server-made: `enr-` and 12 hex digits.")
    student_id: strawberry.ID = strawberry.field(description="The student.")
    status: EnrollmentStatus = strawberry.field(description="ACTIVE, COMPLETED or DROPPED.")
    enrolled_at: datetime = strawberry.field(description="When the student enrolled.")
    last_activity_at: datetime | None = strawberry.field(description="The newest lesson activity.")
    completed_at: datetime | None = strawberry.field(description="When every lesson was complete.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Enrollment:
        return cls(
            course_id=row["course_id"],
            goal_id=row.get("goal_id"),
            id=row["id"],
            student_id=row["student_id"],
            status=EnrollmentStatus(row["status"]),
            enrolled_at=row["enrolled_at"],
            last_activity_at=row["last_activity_at"],
            completed_at=row["completed_at"],
        )

    @strawberry.field(description="The learning goal the student enrolled for, if any.")
    @batched(_goals)
    async def goal(self, info: Info) -> LearningGoal | None:
        return await one(_goals(info, [self]))

    @strawberry.field(description="The course.")
    @batched(_courses)
    async def course(self, info: Info) -> Course:
        return await one(_courses(info, [self]))

    @strawberry.field(
        description="Completed lessons / lessons of the course (locked ones count), 0..1."
    )
    @batched(_progress)
    async def progress(self, info: Info) -> float:
        return await one(_progress(info, [self]))

    @strawberry.field(description="Published lessons the student completed.")
    @batched(_completed)
    async def completed_lessons(self, info: Info) -> int:
        return await one(_completed(info, [self]))

    @strawberry.field(description="Published lessons of the course.")
    @batched(_total)
    async def total_lessons(self, info: Info) -> int:
        return await one(_total(info, [self]))

    @strawberry.field(description="The first available, uncompleted lesson in course order.")
    @batched(_next_lessons)
    async def next_lesson(self, info: Info) -> Lesson | None:
        return await one(_next_lessons(info, [self]))

    @strawberry.field(description="Progress on each published lesson, in course order.")
    @batched(_lesson_pages)
    async def lesson_progress(
        self, info: Info, first: First = 100, after: After = None
    ) -> Connection[LessonProgress]:
        return await one(_lesson_pages(info, [self], first, after))


async def _student_enrollments(
    info: Info,
    students: Sequence[Any],
    status: EnrollmentStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> list[Any]:
    return await enrollment_pages(info, "student_enrollments", students, status, first, after)


@strawberry.type
class StudentEnrollments:
    """The enrolment fields of Student (Student inherits them)."""

    id: strawberry.ID

    @strawberry.field(description="The student's enrolments, in id order.")
    @batched(_student_enrollments)
    async def enrollments(
        self,
        info: Info,
        status: Annotated[
            EnrollmentStatus | None,
            strawberry.argument(description="Only enrolments in this status; null: every status."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Enrollment]:
        return await one(_student_enrollments(info, [self], status, first, after))


@strawberry.input(description="Enrol a student in a course.")
class EnrollInput:
    course_id: strawberry.ID = strawberry.field(description="The course.")
    student_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the caller's student; staff may enrol anyone."
    )
    goal_id: strawberry.ID | None = strawberry.field(
        default=None, description="A goal of the student's that the enrolment serves."
    )


@strawberry.input(description="One activity of a student on a lesson.")
class LessonActivityInput:
    lesson_id: strawberry.ID = strawberry.field(description="The lesson.")
    student_id: strawberry.ID = strawberry.field(description="The student.")
    event_id: str = strawberry.field(
        description="Client-chosen; a repeated eventId changes nothing."
    )
    occurred_at: datetime | None = strawberry.field(
        default=None, description="Default: now. At most 5 minutes ahead, 365 days back."
    )
    active_seconds: int = strawberry.field(
        default=0, description="Active seconds since the previous event, 0..3600."
    )
    completion: float | None = strawberry.field(
        default=None, description="0..1; a value below the stored one is ignored."
    )
    score: float | None = strawberry.field(default=None, description="0..100, for graded lessons.")
    pauses: int = strawberry.field(default=0, description="Pauses since the previous event.")
    rewinds: int = strawberry.field(default=0, description="Rewinds since the previous event.")
    hints_used: int = strawberry.field(default=0, description="Hints since the previous event.")
    mark_done: bool = strawberry.field(default=False, description="The learner marks it done.")


@strawberry.type
class EnrollmentMutation:
    @strawberry.mutation(
        description="Enrol (learners themselves, in published courses; staff anyone). Enrolling twice returns the same enrolment; a dropped one is reactivated."
    )
    async def enroll(
        self,
        info: Info,
        input: Annotated[
            EnrollInput,
            strawberry.argument(description="The course, the student and an optional goal."),
        ],
    ) -> Enrollment:
        row = await progress.enroll(
            info.context.runtime,
            info.context.principal,
            input.course_id,
            input.student_id,
            input.goal_id,
        )
        return Enrollment.from_row(row)

    @strawberry.mutation(
        description="Drop an enrolment (the student or staff); enrolling again reactivates it."
    )
    async def drop_enrollment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The enrolment to drop.")],
    ) -> Enrollment:
        return Enrollment.from_row(
            await progress.drop(info.context.runtime, info.context.principal, id)
        )

    @strawberry.mutation(
        description="Idempotent per eventId. Needs an enrolment and an AVAILABLE or COMPLETED lesson; a score is mastery evidence for the lesson's skills."
    )
    async def record_lesson_activity(
        self,
        info: Info,
        input: Annotated[
            LessonActivityInput,
            strawberry.argument(description="What the learner did on the lesson."),
        ],
    ) -> LessonProgress:
        item = progress.ActivityInput(
            input.lesson_id,
            input.student_id,
            input.event_id,
            input.occurred_at,
            input.active_seconds,
            input.completion,
            input.score,
            input.pauses,
            input.rewinds,
            input.hints_used,
            input.mark_done,
        )
        row = await progress.record_activity(info.context.runtime, info.context.principal, item)
        return LessonProgress.from_row(row)

    @strawberry.mutation(
        description="An IANA time zone for the student's days, hours and streaks (learners their own)."
    )
    async def set_student_timezone(
        self,
        info: Info,
        student_id: Annotated[
            strawberry.ID, strawberry.argument(description="The student (a LEARNER: its own).")
        ],
        timezone: Annotated[
            str,
            strawberry.argument(
                description="An IANA time zone name, e.g. `Europe/Paris`; local days (streaks, pace, due dates) follow it."
            ),
        ],
    ) -> StudentType:
        from learntwin_graphql.api.classes import Student

        chosen = await progress.set_timezone(
            info.context.runtime, info.context.principal, student_id, timezone
        )
        info.context.loaders.timezone.clear(chosen)
        return Student(id=chosen)


__all__ = ["Enrollment", "EnrollmentMutation", "LessonStatus", "StudentEnrollments"]
