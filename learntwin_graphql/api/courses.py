"""The course catalogue: courses and their modules, and the catalogue queries (a course, the
course list, a lesson, a skill's lessons); the Lesson type is in api/lessons.py (re-exported
here). Every list-dependent field is batched; what a caller may see is decided by the
loaders (from `permissions`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.api import progress_fields as student_state
from learntwin_graphql.api.docs import After, First
from learntwin_graphql.api.lessons import Lesson, LessonPrerequisite, joined, row_or_missing
from learntwin_graphql.api.quizzes import DifficultyEnum
from learntwin_graphql.api.skills import Skill
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import Connection, build_connection, check_first, decode_cursor
from learntwin_graphql.services import courses as course_service
from ml.quiz import Difficulty

if TYPE_CHECKING:
    from learntwin_graphql.api.enrollments import Enrollment

EnrollmentType = Annotated["Enrollment", strawberry.lazy("learntwin_graphql.api.enrollments")]


# --- courses ---------------------------------------------------------------------------


async def _course_prerequisites(info: Info, courses: Sequence[Course]) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.course_prerequisites, [c.id for c in courses])
    return await joined(loaders.course, found, str, lambda _, row: Course.from_row(row))


async def _course_skills(info: Info, courses: Sequence[Course]) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.course_skill_ids, [c.id for c in courses])
    return await joined(loaders.skill, found, str, lambda _, row: Skill.from_row(row))


async def _course_minutes(info: Info, courses: Sequence[Course]) -> list[Any]:
    return await load_each(info.context.loaders.course_minutes, [c.id for c in courses])


async def _course_modules(info: Info, courses: Sequence[Course]) -> list[Any]:
    found = await load_each(info.context.loaders.course_modules, [c.id for c in courses])
    return mapped(found, lambda rows: [Module.from_row(row) for row in rows])


@strawberry.type(description="A course: modules of lessons, each lesson teaching skills.")
class Course:
    id: strawberry.ID = strawberry.field(description="Server-made: `course-` and 12 hex digits.")
    title: str = strawberry.field(description="1..200 characters.")
    summary: str | None = strawberry.field(description="A line for catalogue lists.")
    description: str | None = strawberry.field(description="What the course covers.")
    difficulty: DifficultyEnum = strawberry.field(description="The course's level.")
    published: bool = strawberry.field(
        description="Learners see published courses only; a new course is unpublished."
    )
    content_version: int = strawberry.field(
        description="Grows with each change of the course's content; paths built on an "
        "older version are recomputed."
    )
    created_at: datetime = strawberry.field(description="When the course was created.")
    updated_at: datetime = strawberry.field(description="When its content last changed.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Course:
        return cls(
            id=row["id"],
            title=row["title"],
            summary=row["summary"],
            description=row["description"],
            difficulty=Difficulty(row["difficulty"]),
            published=row["published"],
            content_version=row["content_version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @strawberry.field(
        description="Courses to complete first: enrolment is allowed, their lessons stay LOCKED."
    )
    @batched(_course_prerequisites)
    async def prerequisites(self, info: Info) -> list[Course]:
        return await one(_course_prerequisites(info, [self]))

    @strawberry.field(description="Union of the published lessons' skills, in id order.")
    @batched(_course_skills)
    async def skills(self, info: Info) -> list[Skill]:
        return await one(_course_skills(info, [self]))

    @strawberry.field(description="Sum over the published lessons.")
    @batched(_course_minutes)
    async def estimated_minutes(self, info: Info) -> int:
        return await one(_course_minutes(info, [self]))

    @strawberry.field(description="In position order.")
    @batched(_course_modules)
    async def modules(self, info: Info) -> list[Module]:
        return await one(_course_modules(info, [self]))

    @strawberry.field(description="This student's enrolment (default: the caller's student).")
    @batched(student_state.course_enrollment)
    async def enrollment(
        self,
        info: Info,
        student_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="The student whose enrolment to show; null: the caller's own student."
            ),
        ] = None,
    ) -> EnrollmentType | None:
        return await one(student_state.course_enrollment(info, [self], student_id))

    @strawberry.field(description="Staff only. The course's enrolments, in id order.")
    @batched(student_state.course_enrollments)
    async def enrollments(
        self,
        info: Info,
        status: Annotated[
            student_state.EnrollmentStatus | None,
            strawberry.argument(description="Only enrolments in this status; null: every status."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> Connection[EnrollmentType]:
        return await one(student_state.course_enrollments(info, [self], status, first, after))


# --- modules ---------------------------------------------------------------------------


async def _module_courses(info: Info, modules: Sequence[Module]) -> list[Any]:
    found = await load_each(info.context.loaders.course, [m.course_id for m in modules])
    return mapped(found, row_or_missing(Course.from_row, "course"))


async def _module_prerequisites(info: Info, modules: Sequence[Module]) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.module_prerequisites, [m.id for m in modules])
    return await joined(loaders.module, found, str, lambda _, row: Module.from_row(row))


async def _module_lessons(info: Info, modules: Sequence[Module]) -> list[Any]:
    found = await load_each(info.context.loaders.module_lessons, [m.id for m in modules])
    return mapped(found, lambda rows: [Lesson.from_row(row) for row in rows])


async def _module_minutes(info: Info, modules: Sequence[Module]) -> list[Any]:
    return await load_each(info.context.loaders.module_minutes, [m.id for m in modules])


@strawberry.type(description="A part of a course: lessons in order.")
class Module:
    id: strawberry.ID = strawberry.field(description="Server-made: `module-` and 12 hex digits.")
    title: str = strawberry.field(description="1..200 characters.")
    description: str | None = strawberry.field(description="What the module covers.")
    position: int = strawberry.field(description="0-based place in the course.")
    course_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Module:
        return cls(
            id=row["id"],
            title=row["title"],
            description=row["description"],
            position=row["position"],
            course_id=row["course_id"],
        )

    @strawberry.field(description="The course it belongs to.")
    @batched(_module_courses)
    async def course(self, info: Info) -> Course:
        return await one(_module_courses(info, [self]))

    @strawberry.field(description="Earlier modules to complete first.")
    @batched(_module_prerequisites)
    async def prerequisites(self, info: Info) -> list[Module]:
        return await one(_module_prerequisites(info, [self]))

    @strawberry.field(description="In position order (learners: the published ones).")
    @batched(_module_lessons)
    async def lessons(self, info: Info) -> list[Lesson]:
        return await one(_module_lessons(info, [self]))

    @strawberry.field(description="Sum over the published lessons.")
    @batched(_module_minutes)
    async def estimated_minutes(self, info: Info) -> int:
        return await one(_module_minutes(info, [self]))


# --- queries ---------------------------------------------------------------------------


async def skill_lessons(
    info: Info, skills: Sequence[Any], first: First = 20, after: After = None
) -> list[Any]:
    """The batch form of Skill.lessons: a page per skill, easiest first."""
    check_first(first, info.context.settings.max_page_size)
    key = decode_cursor(after, int, str)
    found = await load_each(
        info.context.loaders.skill_lessons, [(s.id, key, first + 1) for s in skills]
    )
    return mapped(
        found,
        lambda rows: build_connection(
            rows,
            first,
            key=lambda row: (row["difficulty"], row["id"]),
            node=Lesson.from_row,
            after=after,
        ),
    )


@strawberry.type
class CourseQuery:
    @strawberry.field(
        description="A course by id; null when there is none, or (learners) it is unpublished."
    )
    async def course(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The course.")],
    ) -> Course | None:
        row = await info.context.loaders.course.load(id)
        return Course.from_row(row) if row else None

    @strawberry.field(
        description="Courses in title order, optionally only published or unpublished ones, "
        "or those whose title or summary contains `search`. Learners see published courses only."
    )
    async def courses(
        self,
        info: Info,
        published: Annotated[
            bool | None,
            strawberry.argument(description="Only published (true) or unpublished (false) ones."),
        ] = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the title or summary, any case.")
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Course]:
        check_first(first, info.context.settings.max_page_size)
        key = decode_cursor(after, str, str)
        rows = await course_service.page(
            info.context.runtime, info.context.principal, published, search, key, first + 1
        )
        return build_connection(
            rows,
            first,
            key=lambda row: (row["title"], row["id"]),
            node=Course.from_row,
            after=after,
        )

    @strawberry.field(
        description="A lesson by id; null when there is none, it is deleted, or (learners) "
        "it or its course is unpublished."
    )
    async def lesson(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The lesson.")],
    ) -> Lesson | None:
        row = await info.context.loaders.lesson.load(id)
        return Lesson.from_row(row) if row else None


__all__ = ["Course", "CourseQuery", "Lesson", "LessonPrerequisite", "Module", "skill_lessons"]
