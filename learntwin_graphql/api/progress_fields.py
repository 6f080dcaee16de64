"""The fields of catalogue types that depend on a student: a lesson's availability and
progress (declared in api/lessons.py) and a course's enrolment (api/courses.py), by
these batch forms. The catalogue types are imported lazily here (they import this)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql import permissions
from learntwin_graphql.api.skills import SkillLevel
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.pagination import (
    after_position,
    build_connection,
    check_first,
)
from ml.course_rules import AvailabilityResult
from ml.learner_model import band

if TYPE_CHECKING:
    from learntwin_graphql.api.courses import Course, Lesson, LessonPrerequisite, Module

WEAK_BANDS = ("NOT_STARTED", "NOVICE", "DEVELOPING")
_COURSES = "learntwin_graphql.api.courses"
LessonType = Annotated["Lesson", strawberry.lazy(_COURSES)]
LessonPrerequisiteType = Annotated["LessonPrerequisite", strawberry.lazy(_COURSES)]
ModuleType = Annotated["Module", strawberry.lazy(_COURSES)]
CourseType = Annotated["Course", strawberry.lazy(_COURSES)]


def _catalogue() -> Any:
    from learntwin_graphql.api import courses

    return courses


@strawberry.enum(description="Where an enrolment stands.")
class EnrollmentStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Enrolled, lessons to do.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Every published lesson completed.")
    DROPPED = strawberry.enum_value("DROPPED", description="Left; enrolling again reactivates it.")


@strawberry.enum(description="Where a student stands on one lesson.")
class LessonStatus(Enum):
    NOT_STARTED = strawberry.enum_value("NOT_STARTED", description="No activity yet.")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="Activity, not complete.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Complete by the lesson's rule.")


@strawberry.enum(description="Whether a student may work on a lesson now.")
class Availability(Enum):
    AVAILABLE = strawberry.enum_value("AVAILABLE", description="Open to the student.")
    LOCKED = strawberry.enum_value("LOCKED", description="A prerequisite is not met yet.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="The student completed it.")


def _student(info: Info, student_id: str | None) -> str:
    """The student a field is about: the caller's own by default."""
    chosen = permissions.student_acted_for(info.context.principal, student_id)
    if chosen is None:
        raise BadUserInput("`studentId` is required for staff.", field="studentId")
    return chosen


async def _lessons(info: Info, ids: Sequence[str]) -> dict[str, Any]:
    wanted = list(dict.fromkeys(ids))
    rows = await load_each(info.context.loaders.lesson, wanted)
    return {i: row for i, row in zip(wanted, rows, strict=True) if isinstance(row, dict)}


async def _progress_lessons(info: Info, items: Sequence[LessonProgress]) -> list[Any]:
    rows = await _lessons(info, [p.lesson_id for p in items])
    lesson = _catalogue().Lesson
    return [lesson.from_row(rows[p.lesson_id]) if p.lesson_id in rows else None for p in items]


@strawberry.type(description="A student's progress on one lesson.")
class LessonProgress:
    lesson_id: strawberry.Private[str]
    student_id: strawberry.ID = strawberry.field(description="The student.")
    status: LessonStatus = strawberry.field(description="Where the student stands.")
    completion: float = strawberry.field(description="0..1, never decreases.")
    score: float | None = strawberry.field(description="Best score 0..100; null until graded.")
    attempts: int = strawberry.field(description="Scored activities so far.")
    active_seconds: int = strawberry.field(description="Active time, summed.")
    pauses: int = strawberry.field(description="Pauses, summed.")
    rewinds: int = strawberry.field(description="Rewinds, summed.")
    hints_used: int = strawberry.field(description="Hints, summed.")
    first_activity_at: datetime | None = strawberry.field(description="The first activity.")
    last_activity_at: datetime | None = strawberry.field(description="The newest activity.")
    completed_at: datetime | None = strawberry.field(description="When it became COMPLETED.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LessonProgress:
        return cls(
            lesson_id=row["lesson_id"],
            student_id=row["student_id"],
            status=LessonStatus(row["status"]),
            **{
                k: row[k]
                for k in (
                    "completion",
                    "score",
                    "attempts",
                    "active_seconds",
                    "pauses",
                    "rewinds",
                    "hints_used",
                    "first_activity_at",
                    "last_activity_at",
                    "completed_at",
                )
            },
        )

    @strawberry.field(description="The lesson.")
    @batched(_progress_lessons)
    async def lesson(self, info: Info) -> LessonType:
        return await one(_progress_lessons(info, [self]))


@strawberry.type(description="Whether a lesson is open to a student, and what blocks it.")
class LessonAvailability:
    status: Availability = strawberry.field(description="AVAILABLE, LOCKED or COMPLETED.")
    blocked_by_lessons: list[LessonPrerequisiteType] = strawberry.field(
        description="Prerequisite lessons not met yet."
    )
    blocked_by_modules: list[ModuleType] = strawberry.field(
        description="Earlier prerequisite modules with a lesson not completed."
    )
    blocked_by_courses: list[CourseType] = strawberry.field(
        description="Prerequisite courses not completed."
    )
    weak_prerequisite_skills: list[SkillLevel] = strawberry.field(
        description="Prerequisite skills of the lesson's skills below PROFICIENT: advice, never a lock."
    )


def _selected(info: Info) -> set[str]:
    """The names of the subfields selected on the field being resolved, through inline
    fragments and fragment spreads (a lookahead, so unselected parts are not computed)."""
    names: set[str] = set()

    def walk(selections: Any) -> None:
        for selection in selections or ():
            name = getattr(selection, "name", None)
            if name is not None and not hasattr(selection, "type_condition"):
                names.add(name)
            walk(getattr(selection, "selections", None))

    for field in info.selected_fields:
        walk(field.selections)
    return names


async def availabilities(
    info: Info, lessons: Sequence[Any], student_id: str | None = None
) -> list[Any]:
    """The batch form of Lesson.availability (also used by Enrollment.nextLesson)."""
    student = _student(info, student_id)
    loaders = info.context.loaders
    found: list[Any] = await load_each(loaders.availability, [(le.id, student) for le in lessons])
    results = [f for f in found if isinstance(f, AvailabilityResult)]
    wanted = _selected(info)
    lesson_rows = await _lessons(
        info,
        [p.lesson_id for r in results for p in r.blocked_by_lessons]
        if "blockedByLessons" in wanted
        else [],
    )
    module_ids = list(dict.fromkeys(m for r in results for m in r.blocked_by_modules))
    course_ids = list(dict.fromkeys(c for r in results for c in r.blocked_by_courses))
    if "blockedByModules" not in wanted:
        module_ids = []
    if "blockedByCourses" not in wanted:
        course_ids = []
    modules = dict(zip(module_ids, await load_each(loaders.module, module_ids), strict=True))
    courses = dict(zip(course_ids, await load_each(loaders.course, course_ids), strict=True))
    weak = await _weak_skills(info, lessons, student) if "weakPrerequisiteSkills" in wanted else {}
    catalogue = _catalogue()
    Lesson, LessonPrerequisite = catalogue.Lesson, catalogue.LessonPrerequisite
    Module, Course = catalogue.Module, catalogue.Course

    def built(pair: tuple[Any, AvailabilityResult]) -> LessonAvailability:
        lesson, result = pair
        return LessonAvailability(
            status=Availability(result.status),
            blocked_by_lessons=[
                LessonPrerequisite(
                    lesson=Lesson.from_row(lesson_rows[p.lesson_id]),
                    min_score=p.min_score,
                    min_completion=p.min_completion,
                )
                for p in result.blocked_by_lessons
                if p.lesson_id in lesson_rows
            ],
            blocked_by_modules=[
                Module.from_row(modules[m])
                for m in result.blocked_by_modules
                if isinstance(modules.get(m), dict)
            ],
            blocked_by_courses=[
                Course.from_row(courses[c])
                for c in result.blocked_by_courses
                if isinstance(courses.get(c), dict)
            ],
            weak_prerequisite_skills=weak.get(lesson.id, []),
        )

    return mapped(
        [f if isinstance(f, Exception) else (le, f) for le, f in zip(lessons, found, strict=True)],
        built,
    )


async def _weak_skills(
    info: Info, lessons: Sequence[Any], student: str
) -> dict[str, list[SkillLevel]]:
    """Per lesson: the prerequisite skills of its skills where the student is below
    PROFICIENT (at the prior without evidence)."""
    loaders = info.context.loaders
    skill_rows = await load_each(loaders.lesson_skills, [le.id for le in lessons])
    skills_of = {
        le.id: [s["skill_id"] for s in rows] if isinstance(rows, list) else []
        for le, rows in zip(lessons, skill_rows, strict=True)
    }
    taught = list(dict.fromkeys(s for ids in skills_of.values() for s in ids))
    prerequisites = dict(
        zip(taught, await load_each(loaders.skill_prerequisites, taught), strict=True)
    )
    needed = list(
        dict.fromkeys(p for ps in prerequisites.values() if isinstance(ps, list) for p in ps)
    )
    levels = dict(
        zip(needed, await load_each(loaders.level, [(student, s) for s in needed]), strict=True)
    )
    rows = dict(zip(needed, await load_each(loaders.skill, needed), strict=True))
    from db.learner_model import at_prior

    weak: dict[str, SkillLevel] = {}
    for skill in needed:
        row = levels[skill]
        if isinstance(row, Exception) or not isinstance(rows[skill], dict):
            continue
        row = row or at_prior(student, rows[skill])
        if band(row["p_mastery"], row["opportunities"]) in WEAK_BANDS:
            weak[skill] = SkillLevel.from_row(row)
    return {
        lesson: [
            weak[p]
            for p in dict.fromkeys(
                p for s in ids if isinstance(prerequisites[s], list) for p in prerequisites[s]
            )
            if p in weak
        ]
        for lesson, ids in skills_of.items()
    }


async def lesson_progresses(
    info: Info, lessons: Sequence[Any], student_id: str | None = None
) -> list[Any]:
    """The batch form of Lesson.progress."""
    student = _student(info, student_id)
    found = await load_each(
        info.context.loaders.lesson_progress, [(le.id, student) for le in lessons]
    )
    return mapped(found, lambda row: LessonProgress.from_row(row) if row else None)


def _enrollment_type() -> Any:
    from learntwin_graphql.api.enrollments import Enrollment

    return Enrollment


async def course_enrollment(
    info: Info, courses: Sequence[Any], student_id: str | None = None
) -> list[Any]:
    """The batch form of Course.enrollment."""
    student = _student(info, student_id)
    found = await load_each(info.context.loaders.enrollment, [(c.id, student) for c in courses])
    enrollment = _enrollment_type()
    return mapped(found, lambda row: enrollment.from_row(row) if row else None)


async def enrollment_pages(
    info: Info, loader: str, owners: Sequence[Any], status: Any, first: int, after: str | None
) -> list[Any]:
    """Pages of enrolments per owner (a course or a student) from the named loader."""
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    name = status.value if status is not None else None
    found = await load_each(
        getattr(info.context.loaders, loader), [(o.id, name, position, first + 1) for o in owners]
    )
    enrollment = _enrollment_type()
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda r: (r["id"],), node=enrollment.from_row, after=after
        ),
    )


async def course_enrollments(
    info: Info,
    courses: Sequence[Any],
    status: Any = None,
    first: int = 50,
    after: str | None = None,
) -> list[Any]:
    """The batch form of Course.enrollments (staff)."""
    return await enrollment_pages(info, "course_enrollments", courses, status, first, after)
