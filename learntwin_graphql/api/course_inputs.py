"""Authoring the course catalogue: the inputs of courses, modules and lessons, and the
staff mutations that write them (checked and stored by `services.courses`)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.courses import Course, Module
from learntwin_graphql.api.lessons import CompletionRule, Lesson, LessonContentType
from learntwin_graphql.api.quizzes import DifficultyEnum
from learntwin_graphql.context import Info
from learntwin_graphql.errors import NotFound
from learntwin_graphql.services import courses as course_service
from ml.quiz import Difficulty

UNSET: Any = strawberry.UNSET


@strawberry.input(description="A new course; it stays unpublished until updateCourse publishes it.")
class CreateCourseInput:
    title: str = strawberry.field(description="1..200 characters (trimmed).")
    summary: str | None = strawberry.field(default=None, description="At most 500 characters.")
    description: str | None = strawberry.field(default=None, description="At most 5000 characters.")
    difficulty: DifficultyEnum = strawberry.field(
        default=Difficulty.BEGINNER, description="The course's level."
    )
    prerequisite_course_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Courses to complete first."
    )


@strawberry.input(description="Changes to a course: only the fields given change.")
class UpdateCourseInput:
    id: strawberry.ID = strawberry.field(description="The course.")
    title: str | None = strawberry.field(default=UNSET, description="1..200 characters.")
    summary: str | None = strawberry.field(default=UNSET, description="Null clears it.")
    description: str | None = strawberry.field(default=UNSET, description="Null clears it.")
    difficulty: DifficultyEnum | None = strawberry.field(
        default=UNSET, description="The course's level."
    )
    prerequisite_course_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="Replaces the stored list; not the course itself, and no cycle.",
    )
    published: bool | None = strawberry.field(
        default=UNSET, description="True shows the course to learners."
    )


@strawberry.input(description="A new module of a course.")
class ModuleInput:
    course_id: strawberry.ID = strawberry.field(description="The course.")
    title: str = strawberry.field(description="1..200 characters (trimmed).")
    description: str | None = strawberry.field(default=None, description="At most 5000 characters.")
    position: int | None = strawberry.field(
        default=None,
        description="Default: the end. 0-based; the modules from there on move down one place.",
    )
    prerequisite_module_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Earlier modules of the same course."
    )


@strawberry.input(description="A skill a lesson teaches, with its share of the lesson.")
class LessonSkillInput:
    skill_id: strawberry.ID = strawberry.field(description="An existing skill.")
    weight: float = strawberry.field(
        default=1.0, description="> 0; a lesson's weights are normalised to sum 1."
    )


@strawberry.input(description="A lesson (of any course) to complete first.")
class LessonPrerequisiteInput:
    lesson_id: strawberry.ID = strawberry.field(description="The prerequisite lesson.")
    min_score: float | None = strawberry.field(default=None, description="0..100")
    min_completion: float | None = strawberry.field(default=None, description="0..1")


@strawberry.input(description="When a lesson counts as complete.")
class LessonCompletionInput:
    rule: CompletionRule = strawberry.field(default=CompletionRule.VIEW, description="The rule.")
    min_score: float | None = strawberry.field(
        default=UNSET, description="MIN_SCORE only: 0..100 (default 70)."
    )
    min_minutes: int | None = strawberry.field(
        default=UNSET, description="MIN_TIME only, and needed there: 1..600 active minutes."
    )


def _completion_default() -> LessonCompletionInput:
    return LessonCompletionInput(rule=CompletionRule.VIEW)


@strawberry.input(description="A new lesson of a module; it is published at once.")
class LessonInput:
    module_id: strawberry.ID = strawberry.field(description="The module.")
    title: str = strawberry.field(description="1..200 characters (trimmed).")
    position: int | None = strawberry.field(
        default=None,
        description="Default: the end. 0-based; the lessons from there on move down one place.",
    )
    content_type: LessonContentType = strawberry.field(
        default=LessonContentType.ARTICLE, description="What the content is."
    )
    content_url: str | None = strawberry.field(default=None, description="Where the content is.")
    body: str | None = strawberry.field(default=None, description="The content, for text lessons.")
    learning_objectives: list[str] = strawberry.field(
        default_factory=list, description="Up to 50, each 1..500 characters."
    )
    difficulty: int = strawberry.field(default=5, description="1..10")
    estimated_minutes: int = strawberry.field(description="1..600")
    skills: list[LessonSkillInput] = strawberry.field(
        description="At least one; weights are normalised to sum 1."
    )
    prerequisites: list[LessonPrerequisiteInput] = strawberry.field(
        default_factory=list, description="Lessons to complete first."
    )
    completion: LessonCompletionInput = strawberry.field(
        default_factory=_completion_default, description="Default: VIEW."
    )
    quiz_id: strawberry.ID | None = strawberry.field(
        default=None, description="A quiz that grades the lesson."
    )


@strawberry.input(description="Changes to a lesson: only the fields given change.")
class UpdateLessonInput:
    id: strawberry.ID = strawberry.field(description="The lesson.")
    title: str | None = strawberry.field(default=UNSET, description="1..200 characters.")
    position: int | None = strawberry.field(
        default=UNSET, description="0-based place in the module; the others shift to make room."
    )
    content_type: LessonContentType | None = strawberry.field(
        default=UNSET, description="What the content is."
    )
    content_url: str | None = strawberry.field(default=UNSET, description="Null clears it.")
    body: str | None = strawberry.field(default=UNSET, description="Null clears it.")
    learning_objectives: list[str] | None = strawberry.field(
        default=UNSET, description="Replaces the stored list."
    )
    difficulty: int | None = strawberry.field(default=UNSET, description="1..10")
    estimated_minutes: int | None = strawberry.field(default=UNSET, description="1..600")
    skills: list[LessonSkillInput] | None = strawberry.field(
        default=UNSET, description="Replaces the stored skills; at least one."
    )
    prerequisites: list[LessonPrerequisiteInput] | None = strawberry.field(
        default=UNSET, description="Replaces the stored list; not the lesson itself, and no cycle."
    )
    completion: LessonCompletionInput | None = strawberry.field(
        default=UNSET, description="Replaces the stored rule."
    )
    quiz_id: strawberry.ID | None = strawberry.field(default=UNSET, description="Null clears it.")
    published: bool | None = strawberry.field(
        default=UNSET, description="False hides the lesson from learners."
    )


CreateCourseArgument = Annotated[
    CreateCourseInput, strawberry.argument(description="The course to create.")
]
UpdateCourseArgument = Annotated[
    UpdateCourseInput, strawberry.argument(description="The course and its changes.")
]
ModuleArgument = Annotated[ModuleInput, strawberry.argument(description="The module to create.")]
LessonArgument = Annotated[LessonInput, strawberry.argument(description="The lesson to create.")]
UpdateLessonArgument = Annotated[
    UpdateLessonInput, strawberry.argument(description="The lesson and its changes.")
]


# --- inputs as the service's values ----------------------------------------------------


def _value(value: Any) -> Any:
    """An input value as the service takes it: enums as their names, nested inputs as
    the service's records, lists item by item."""
    if isinstance(value, list):
        return [_value(item) for item in value]
    if isinstance(value, LessonSkillInput):
        return course_service.SkillWeight(value.skill_id, value.weight)
    if isinstance(value, LessonPrerequisiteInput):
        return course_service.PrerequisiteWrite(
            value.lesson_id, value.min_score, value.min_completion
        )
    if isinstance(value, LessonCompletionInput):
        return course_service.CompletionWrite(
            value.rule.value,
            None if value.min_score is UNSET else value.min_score,
            None if value.min_minutes is UNSET else value.min_minutes,
        )
    if isinstance(value, (Difficulty, LessonContentType)):
        return value.value
    return value


def _fields(input: Any, *, given_only: bool = False) -> dict[str, Any]:
    """The input's fields but `id`, by Python name (with `given_only`, those sent)."""
    return {
        name: _value(value)
        for name, value in vars(input).items()
        if name != "id" and not (given_only and value is UNSET)
    }


async def _course(info: Info, course_id: str) -> Course:
    loader = info.context.loaders.course
    row = await loader.clear(course_id).load(course_id)
    if not row:
        raise NotFound(f"No course {course_id!r}.")
    return Course.from_row(row)


async def _lesson(info: Info, lesson_id: str) -> Lesson:
    loader = info.context.loaders.lesson
    row = await loader.clear(lesson_id).load(lesson_id)
    if not row:
        raise NotFound(f"No lesson {lesson_id!r}.")
    return Lesson.from_row(row)


@strawberry.type
class CourseMutation:
    @strawberry.mutation(description="Staff. A new, unpublished course.")
    async def create_course(self, info: Info, input: CreateCourseArgument) -> Course:
        write = course_service.CourseWrite(**_fields(input))
        course_id = await course_service.create_course(
            info.context.runtime, info.context.principal, write
        )
        return await _course(info, course_id)

    @strawberry.mutation(
        description="Staff. Changes the fields given (publishing included) and bumps "
        "contentVersion; a prerequisite cycle is BAD_USER_INPUT naming it."
    )
    async def update_course(self, info: Info, input: UpdateCourseArgument) -> Course:
        course_id = await course_service.update_course(
            info.context.runtime, info.context.principal, input.id, _fields(input, given_only=True)
        )
        return await _course(info, course_id)

    @strawberry.mutation(description="Staff. A new module; bumps the course's contentVersion.")
    async def create_module(self, info: Info, input: ModuleArgument) -> Module:
        module_id = await course_service.create_module(
            info.context.runtime,
            info.context.principal,
            course_service.ModuleWrite(**_fields(input)),
        )
        loader = info.context.loaders.module
        return Module.from_row(await loader.clear(module_id).load(module_id))

    @strawberry.mutation(
        description="Staff. A new, published lesson; bumps the course's contentVersion."
    )
    async def create_lesson(self, info: Info, input: LessonArgument) -> Lesson:
        lesson_id = await course_service.create_lesson(
            info.context.runtime,
            info.context.principal,
            course_service.LessonWrite(**_fields(input)),
        )
        return await _lesson(info, lesson_id)

    @strawberry.mutation(
        description="Staff. Changes the fields given and bumps the course's contentVersion; "
        "a prerequisite cycle is BAD_USER_INPUT naming it."
    )
    async def update_lesson(self, info: Info, input: UpdateLessonArgument) -> Lesson:
        lesson_id = await course_service.update_lesson(
            info.context.runtime, info.context.principal, input.id, _fields(input, given_only=True)
        )
        return await _lesson(info, lesson_id)

    @strawberry.mutation(
        description="Staff. Soft delete; returns the id. The lesson disappears from every "
        "read; deleting it again changes nothing."
    )
    async def delete_lesson(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The lesson.")],
    ) -> strawberry.ID:
        deleted = await course_service.delete_lesson(
            info.context.runtime, info.context.principal, id
        )
        return strawberry.ID(deleted)
