"""Lessons of the course catalogue: the Lesson type with its content, completion rule,
skills and prerequisites, and the batch forms of its fields; with the helpers the batch
forms of api/courses.py share. api/courses.py imports this module: Module and Course are
imported lazily here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.api import progress_fields as student_state
from learntwin_graphql.api.quizzes import Quiz
from learntwin_graphql.api.skills import Skill
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import NotFound

if TYPE_CHECKING:
    from learntwin_graphql.api.courses import Course, Module

_COURSES = "learntwin_graphql.api.courses"
ModuleType = Annotated["Module", strawberry.lazy(_COURSES)]
CourseType = Annotated["Course", strawberry.lazy(_COURSES)]


@strawberry.enum(description="What a lesson's content is.")
class LessonContentType(Enum):
    VIDEO = strawberry.enum_value("VIDEO", description="A video to watch (contentUrl).")
    ARTICLE = strawberry.enum_value("ARTICLE", description="Text to read (body or contentUrl).")
    QUIZ = strawberry.enum_value("QUIZ", description="A quiz to take (quiz).")
    INTERACTIVE = strawberry.enum_value("INTERACTIVE", description="An interactive activity.")
    CODE_EXERCISE = strawberry.enum_value("CODE_EXERCISE", description="A programming exercise.")


@strawberry.enum(description="When a lesson counts as complete.")
class CompletionRule(Enum):
    VIEW = strawberry.enum_value("VIEW", description="As soon as the learner opens it.")
    MARK_DONE = strawberry.enum_value("MARK_DONE", description="When the learner marks it done.")
    MIN_SCORE = strawberry.enum_value(
        "MIN_SCORE", description="When the best score reaches minScore (70 unless set)."
    )
    MIN_TIME = strawberry.enum_value(
        "MIN_TIME", description="After minMinutes of active time in the lesson."
    )


def row_or_missing(convert: Callable[[dict[str, Any]], Any], what: str) -> Callable[[Any], Any]:
    """`convert` for a row that must be there (an item error when it is not)."""
    return lambda row: convert(row) if row else NotFound(f"The {what} is gone.")


async def joined(
    loader: Any, found: list[Any], key: Callable[[Any], str], convert: Callable[[Any, Any], Any]
) -> list[Any]:
    """Each list of items (ids, or rows naming an id by `key`) with the row of each id
    loaded by `loader` in one batch, converted by `convert(item, row)`; an item whose row
    the caller may not see (None or an error) is left out."""
    wanted = list(
        dict.fromkeys(key(i) for items in found if not isinstance(items, Exception) for i in items)
    )
    rows = dict(zip(wanted, await load_each(loader, wanted), strict=True))
    return mapped(
        found,
        lambda items: [convert(i, rows[key(i)]) for i in items if isinstance(rows[key(i)], dict)],
    )


# A student argument that defaults to the caller's own student.
StudentOrOwn = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="The student; null: the caller's own student."),
]


@strawberry.type(description="One skill a lesson teaches.")
class LessonSkill:
    skill: Skill = strawberry.field(description="The skill.")
    weight: float = strawberry.field(
        description="Share of the lesson about this skill; a lesson's weights sum to 1."
    )


@strawberry.type(
    description="The prerequisite lesson must reach minScore (0..100) and minCompletion "
    "(0..1) where given."
)
class LessonPrerequisite:
    lesson: Lesson = strawberry.field(description="The lesson to complete first.")
    min_score: float | None = strawberry.field(description="Best score needed, 0..100.")
    min_completion: float | None = strawberry.field(description="Completion needed, 0..1.")


@strawberry.type(description="When a lesson counts as complete.")
class LessonCompletion:
    rule: CompletionRule = strawberry.field(description="The rule.")
    min_score: float | None = strawberry.field(description="MIN_SCORE: 0..100.")
    min_minutes: int | None = strawberry.field(description="MIN_TIME: active minutes.")


async def _lesson_modules(info: Info, lessons: Sequence[Lesson]) -> list[Any]:
    from learntwin_graphql.api.courses import Module

    found = await load_each(info.context.loaders.module, [le.module_id for le in lessons])
    return mapped(found, row_or_missing(Module.from_row, "module"))


async def _lesson_courses(info: Info, lessons: Sequence[Lesson]) -> list[Any]:
    from learntwin_graphql.api.courses import Course

    found = await load_each(info.context.loaders.course, [le.course_id for le in lessons])
    return mapped(found, row_or_missing(Course.from_row, "course"))


async def _lesson_skills(info: Info, lessons: Sequence[Lesson]) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.lesson_skills, [le.id for le in lessons])
    return await joined(
        loaders.skill,
        found,
        lambda item: item["skill_id"],
        lambda item, row: LessonSkill(skill=Skill.from_row(row), weight=item["weight"]),
    )


async def _lesson_prerequisites(info: Info, lessons: Sequence[Lesson]) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.lesson_prerequisites, [le.id for le in lessons])
    return await joined(
        loaders.lesson,
        found,
        lambda item: item["prerequisite_id"],
        lambda item, row: LessonPrerequisite(
            lesson=Lesson.from_row(row),
            min_score=item["min_score"],
            min_completion=item["min_completion"],
        ),
    )


async def _lesson_quizzes(info: Info, lessons: Sequence[Lesson]) -> list[Any]:
    wanted = list(dict.fromkeys(le.quiz_id for le in lessons if le.quiz_id))
    rows = dict(zip(wanted, await load_each(info.context.loaders.quiz, wanted), strict=True))
    found = [rows[le.quiz_id] if le.quiz_id else None for le in lessons]
    return mapped(found, lambda row: Quiz.from_row(row) if row else None)


@strawberry.type(description="One lesson of a module.")
class Lesson:
    id: strawberry.ID = strawberry.field(description="Server-made: `lesson-` and 12 hex digits.")
    title: str = strawberry.field(description="1..200 characters.")
    position: int = strawberry.field(description="0-based place in the module.")
    content_type: LessonContentType = strawberry.field(description="What the content is.")
    content_url: str | None = strawberry.field(description="Where the content is.")
    body: str | None = strawberry.field(description="The content itself, for text lessons.")
    learning_objectives: list[str] = strawberry.field(description="What the learner will know.")
    difficulty: int = strawberry.field(description="1..10")
    estimated_minutes: int = strawberry.field(description="1..600")
    completion: LessonCompletion = strawberry.field(description="When it counts as complete.")
    published: bool = strawberry.field(
        description="Learners see published lessons only; a new lesson is published."
    )
    module_id: strawberry.Private[str]
    course_id: strawberry.Private[str]
    quiz_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Lesson:
        return cls(
            id=row["id"],
            title=row["title"],
            position=row["position"],
            content_type=LessonContentType(row["content_type"]),
            content_url=row["content_url"],
            body=row["body"],
            learning_objectives=list(row["learning_objectives"]),
            difficulty=row["difficulty"],
            estimated_minutes=row["estimated_minutes"],
            completion=LessonCompletion(
                rule=CompletionRule(row["completion_rule"]),
                min_score=row["min_score"],
                min_minutes=row["min_minutes"],
            ),
            published=row["published"],
            module_id=row["module_id"],
            course_id=row["course_id"],
            quiz_id=row["quiz_id"],
        )

    @strawberry.field(description="The module it belongs to.")
    @batched(_lesson_modules)
    async def module(self, info: Info) -> ModuleType:
        return await one(_lesson_modules(info, [self]))

    @strawberry.field(description="The course it belongs to.")
    @batched(_lesson_courses)
    async def course(self, info: Info) -> CourseType:
        return await one(_lesson_courses(info, [self]))

    @strawberry.field(description="The skills it teaches, in skill-id order.")
    @batched(_lesson_skills)
    async def skills(self, info: Info) -> list[LessonSkill]:
        return await one(_lesson_skills(info, [self]))

    @strawberry.field(description="Lessons (of any course) to complete first.")
    @batched(_lesson_prerequisites)
    async def prerequisites(self, info: Info) -> list[LessonPrerequisite]:
        return await one(_lesson_prerequisites(info, [self]))

    @strawberry.field(description="A quiz that grades the lesson; its answers feed mastery.")
    @batched(_lesson_quizzes)
    async def quiz(self, info: Info) -> Quiz | None:
        return await one(_lesson_quizzes(info, [self]))

    @strawberry.field(description="For this student (default: the caller's).")
    @batched(student_state.availabilities)
    async def availability(
        self,
        info: Info,
        student_id: StudentOrOwn = None,
    ) -> student_state.LessonAvailability:
        return await one(student_state.availabilities(info, [self], student_id))

    @strawberry.field(
        description="For this student (default: the caller's); null before any activity."
    )
    @batched(student_state.lesson_progresses)
    async def progress(
        self,
        info: Info,
        student_id: StudentOrOwn = None,
    ) -> student_state.LessonProgress | None:
        return await one(student_state.lesson_progresses(info, [self], student_id))
