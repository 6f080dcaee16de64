"""The course catalogue: courses, modules and lessons written by staff, each value checked
(BAD_USER_INPUT naming the input field) and each change of a course's content bumping
its content version in the same transaction; the course list as a caller may see it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import courses as courses_db
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from ml.course_rules import DEFAULT_MIN_SCORE, normalise_weights
from ml.skill_graph import GraphError, check_graph, merged_graph

TITLE_MAX = 200
SUMMARY_MAX = 500
DESCRIPTION_MAX = 5000
URL_MAX = 2000
OBJECTIVE_MAX = 500
MAX_OBJECTIVES = 50
MAX_SKILLS = 50
MAX_PREREQUISITES = 100
MINUTES = (1, 600)
DIFFICULTY = (1, 10)
RULES = ("VIEW", "MARK_DONE", "MIN_SCORE", "MIN_TIME")


@dataclass(frozen=True)
class CourseWrite:
    title: str
    summary: str | None
    description: str | None
    difficulty: str
    prerequisite_course_ids: Sequence[str]


@dataclass(frozen=True)
class ModuleWrite:
    course_id: str
    title: str
    description: str | None
    position: int | None
    prerequisite_module_ids: Sequence[str]


@dataclass(frozen=True)
class SkillWeight:
    skill_id: str
    weight: float


@dataclass(frozen=True)
class PrerequisiteWrite:
    lesson_id: str
    min_score: float | None
    min_completion: float | None


@dataclass(frozen=True)
class CompletionWrite:
    rule: str
    min_score: float | None
    min_minutes: int | None


@dataclass(frozen=True)
class LessonWrite:
    module_id: str
    title: str
    position: int | None
    content_type: str
    content_url: str | None
    body: str | None
    learning_objectives: Sequence[str]
    difficulty: int
    estimated_minutes: int
    skills: Sequence[SkillWeight]
    prerequisites: Sequence[PrerequisiteWrite]
    completion: CompletionWrite
    quiz_id: str | None


# --- checks of single values -------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _title(value: str, field: str, maximum: int = TITLE_MAX) -> str:
    title = value.strip()
    if not title or len(title) > maximum:
        raise BadUserInput(f"`{field}` must be 1..{maximum} characters.", field=field)
    return title


def _text(value: str | None, maximum: int, field: str) -> str | None:
    text = value.strip() if value is not None else None
    if text is not None and len(text) > maximum:
        raise BadUserInput(f"`{field}` must be at most {maximum} characters.", field=field)
    return text or None


def _number(value: float, low: float, high: float, field: str) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        raise BadUserInput(f"`{field}` must be between {low:g} and {high:g}.", field=field)
    return value


def _integer(value: int, bounds: tuple[int, int], field: str) -> int:
    return int(_number(value, *bounds, field))


def _position(value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        raise BadUserInput(f"`{field}` must be 0 or more (default: the end).", field=field)
    return value


def _required(changes: Mapping[str, Any], name: str) -> Any:
    value = changes[name]
    if value is None:
        raise BadUserInput(f"`{_camel(name)}` cannot be null.", field=f"input.{_camel(name)}")
    return value


def _distinct(ids: Sequence[str], field: str, what: str) -> list[str]:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise BadUserInput(f"{what} {value!r} is named twice.", field=f"{field}.{index}")
        seen.add(value)
    return list(ids)


def _objectives(values: Sequence[str], field: str) -> list[str]:
    if len(values) > MAX_OBJECTIVES:
        raise BadUserInput(f"At most {MAX_OBJECTIVES} learning objectives.", field=field)
    return [_title(v, f"{field}.{i}", OBJECTIVE_MAX) for i, v in enumerate(values)]


def _skills(skills: Sequence[SkillWeight], field: str) -> dict[str, float]:
    if not skills:
        raise BadUserInput("A lesson teaches at least one skill.", field=field)
    if len(skills) > MAX_SKILLS:
        raise BadUserInput(f"At most {MAX_SKILLS} skills per lesson.", field=field)
    _distinct([s.skill_id for s in skills], field, "Skill")
    for index, skill in enumerate(skills):
        if not math.isfinite(skill.weight) or skill.weight <= 0:
            raise BadUserInput(
                "A skill's weight must be a finite number > 0.", field=f"{field}.{index}.weight"
            )
    return normalise_weights({s.skill_id: s.weight for s in skills})


def _prerequisites(items: Sequence[PrerequisiteWrite], field: str) -> list[dict[str, Any]]:
    if len(items) > MAX_PREREQUISITES:
        raise BadUserInput(f"At most {MAX_PREREQUISITES} prerequisites.", field=field)
    _distinct([p.lesson_id for p in items], field, "Lesson")
    for index, item in enumerate(items):
        if item.min_score is not None:
            _number(item.min_score, 0, 100, f"{field}.{index}.minScore")
        if item.min_completion is not None:
            _number(item.min_completion, 0, 1, f"{field}.{index}.minCompletion")
    return [
        {"lesson_id": p.lesson_id, "min_score": p.min_score, "min_completion": p.min_completion}
        for p in items
    ]


def _completion(completion: CompletionWrite, field: str) -> dict[str, Any]:
    """The rule's columns: MIN_SCORE takes an optional minScore (70 when unset), MIN_TIME
    needs minMinutes, VIEW and MARK_DONE take neither."""
    rule, score, minutes = completion.rule, completion.min_score, completion.min_minutes
    if rule not in RULES:
        raise BadUserInput(f"Unknown completion rule {rule!r}.", field=f"{field}.rule")
    if score is not None and rule != "MIN_SCORE":
        raise BadUserInput("`minScore` applies to MIN_SCORE only.", field=f"{field}.minScore")
    if minutes is not None and rule != "MIN_TIME":
        raise BadUserInput("`minMinutes` applies to MIN_TIME only.", field=f"{field}.minMinutes")
    if rule == "MIN_SCORE":
        score = DEFAULT_MIN_SCORE if score is None else _number(score, 0, 100, f"{field}.minScore")
    if rule == "MIN_TIME":
        if minutes is None:
            raise BadUserInput("MIN_TIME needs `minMinutes`.", field=f"{field}.minMinutes")
        minutes = _integer(minutes, MINUTES, f"{field}.minMinutes")
    return {"completion_rule": rule, "min_score": score, "min_minutes": minutes}


# Each writable lesson field: its check, giving the lesson columns it sets.
_LESSON_CHECKS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "title": lambda v, f: {"title": _title(v, f)},
    "content_type": lambda v, f: {"content_type": v},
    "content_url": lambda v, f: {"content_url": _text(v, URL_MAX, f)},
    "body": lambda v, f: {"body": v or None},
    "learning_objectives": lambda v, f: {"learning_objectives": _objectives(v, f)},
    "difficulty": lambda v, f: {"difficulty": _integer(v, DIFFICULTY, f)},
    "estimated_minutes": lambda v, f: {"estimated_minutes": _integer(v, MINUTES, f)},
    "completion": _completion,
    "quiz_id": lambda v, f: {"quiz_id": v},
    "published": lambda v, f: {"published": v},
}
_NULLABLE = {"content_url", "body", "quiz_id"}


def _lesson_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, value in values.items():
        check = _LESSON_CHECKS.get(name)
        if check is not None:
            columns.update(check(value, f"input.{_camel(name)}"))
    return columns


# --- checks against the stored catalogue (inside the writing transaction) -----------------


async def _all_exist(
    conn: AsyncConnection, table: str, ids: Sequence[str], field: str, what: str, suffix: str = ""
) -> None:
    """Refuse the first of `ids` that `table` lacks, naming `field.<index><suffix>`."""
    found = await courses_db.existing(conn, table, ids) if ids else set()
    for index, value in enumerate(ids):
        if value not in found:
            raise BadUserInput(f"No {what} {value!r}.", field=f"{field}.{index}{suffix}")


async def _check_cycles(
    conn: AsyncConnection,
    kind: courses_db.Kind,
    owner: str,
    prerequisites: Sequence[str],
    field: str,
) -> None:
    """Refuse new prerequisites of `owner` that would close a cycle, naming it."""
    graph = merged_graph(
        await courses_db.prerequisite_graph(conn, kind, prerequisites), {owner: prerequisites}
    )
    try:
        check_graph(graph, field=field)
    except GraphError as error:
        raise BadUserInput(str(error), field=field, **{f"{kind}Ids": error.ids}) from None


async def _lesson_links(
    conn: AsyncConnection,
    lesson_id: str,
    prerequisites: Sequence[Mapping[str, Any]] | None,
    quiz: Any,
) -> None:
    """Check the other ids a lesson write names: prerequisite lessons (live, not the
    lesson itself; any course's) and the quiz."""
    if prerequisites:
        ids = [p["lesson_id"] for p in prerequisites]
        found = await courses_db.live_lessons_in(conn, ids)
        for index, value in enumerate(ids):
            field = f"input.prerequisites.{index}.lessonId"
            if value == lesson_id:
                raise BadUserInput("A lesson cannot be its own prerequisite.", field=field)
            if value not in found:
                raise BadUserInput(f"No lesson {value!r}.", field=field)
    if quiz is not None:
        if not await courses_db.existing(conn, "quizzes", [quiz]):
            raise BadUserInput(f"No quiz {quiz!r}.", field="input.quizId")


async def _skills_exist(conn: AsyncConnection, skills: Mapping[str, float]) -> None:
    await _all_exist(conn, "skills", list(skills), "input.skills", "skill", ".skillId")


# --- courses -------------------------------------------------------------------------------


def _course_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "title" in values:
        columns["title"] = _title(_required(values, "title"), "input.title")
    if "summary" in values:
        columns["summary"] = _text(values["summary"], SUMMARY_MAX, "input.summary")
    if "description" in values:
        columns["description"] = _text(values["description"], DESCRIPTION_MAX, "input.description")
    for name in ("difficulty", "published"):
        if name in values:
            columns[name] = _required(values, name)
    return columns


async def create_course(runtime: Runtime, principal: Principal, course: CourseWrite) -> str:
    """A new, unpublished course (staff); its prerequisite courses must exist."""
    permissions.require_staff(principal)
    field = "input.prerequisiteCourseIds"
    columns = _course_columns(vars(course))
    prerequisites = _distinct(course.prerequisite_course_ids, field, "Course")
    course_id = courses_db.new_id("course")
    async with runtime.engine.begin() as conn:
        await _all_exist(conn, "courses", prerequisites, field, "course")
        await courses_db.insert_course(conn, {"id": course_id, **columns})
        await courses_db.set_prerequisites(conn, "course", course_id, prerequisites)
    return course_id


async def update_course(
    runtime: Runtime, principal: Principal, course_id: str, changes: Mapping[str, Any]
) -> str:
    """Change the given fields of a course (staff), bumping its content version; a
    prerequisite that is the course itself, unknown or closing a cycle is refused."""
    permissions.require_staff(principal)
    if not changes:  # nothing to change: no new content version either
        if not await courses_db.courses_by_id(runtime.reads, [course_id]):
            raise NotFound(f"No course {course_id!r}.", field="input.id")
        return course_id
    field = "input.prerequisiteCourseIds"
    columns = _course_columns(changes)
    prerequisites = None
    if "prerequisite_course_ids" in changes:
        prerequisites = _distinct(_required(changes, "prerequisite_course_ids"), field, "Course")
    async with runtime.engine.begin() as conn:
        if prerequisites is not None:
            await courses_db.lock_graph(conn, "course")
        if await courses_db.touch_course(conn, course_id) is None:
            raise NotFound(f"No course {course_id!r}.", field="input.id")
        if prerequisites is not None:
            for index, value in enumerate(prerequisites):
                if value == course_id:
                    raise BadUserInput(
                        "A course cannot be its own prerequisite.", field=f"{field}.{index}"
                    )
            await _all_exist(conn, "courses", prerequisites, field, "course")
            await _check_cycles(conn, "course", course_id, prerequisites, field)
            await courses_db.set_prerequisites(conn, "course", course_id, prerequisites)
        await courses_db.update_course(conn, course_id, columns)
    return course_id


async def page(
    runtime: Runtime,
    principal: Principal,
    published: bool | None,
    search: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` courses after `after` in title order; anyone but staff sees the
    published ones only (asking for unpublished ones gives none)."""
    drafts = permissions.sees_unpublished_content(principal)
    if search is not None and len(search) > TITLE_MAX:
        raise BadUserInput(f"`search` must be at most {TITLE_MAX} characters.", field="search")
    if not drafts:
        if published is False:
            return []
        published = True
    return await courses_db.course_page(runtime.reads, published, search or None, after, limit)


# --- modules -------------------------------------------------------------------------------


async def create_module(runtime: Runtime, principal: Principal, module: ModuleWrite) -> str:
    """A new module of a course (staff) at `position` (default: the end), the later
    modules moved down; its prerequisites must be earlier modules of the same course."""
    permissions.require_staff(principal)
    field = "input.prerequisiteModuleIds"
    title = _title(module.title, "input.title")
    description = _text(module.description, DESCRIPTION_MAX, "input.description")
    position = _position(module.position, "input.position")
    prerequisites = _distinct(module.prerequisite_module_ids, field, "Module")
    module_id = courses_db.new_id("module")
    async with runtime.engine.begin() as conn:
        if await courses_db.touch_course(conn, module.course_id) is None:
            raise BadUserInput(f"No course {module.course_id!r}.", field="input.courseId")
        found = await courses_db.modules_in(conn, prerequisites) if prerequisites else {}
        for index, value in enumerate(prerequisites):
            row, where = found.get(value), f"{field}.{index}"
            if row is None:
                raise BadUserInput(f"No module {value!r}.", field=where)
            if row["course_id"] != module.course_id:
                raise BadUserInput(f"Module {value!r} belongs to another course.", field=where)
            if position is not None and row["position"] >= position:
                raise BadUserInput(
                    f"Module {value!r} comes at or after position {position}: a prerequisite"
                    " must be an earlier module.",
                    field=where,
                )
        await courses_db.insert_module(
            conn,
            {
                "id": module_id,
                "course_id": module.course_id,
                "title": title,
                "description": description,
                "position": position,
            },
        )
        await courses_db.set_prerequisites(conn, "module", module_id, prerequisites)
    return module_id


# --- lessons -------------------------------------------------------------------------------


async def create_lesson(runtime: Runtime, principal: Principal, lesson: LessonWrite) -> str:
    """A new, published lesson of a module (staff) at `position` (default: the end)."""
    permissions.require_staff(principal)
    position = _position(lesson.position, "input.position")
    columns = _lesson_columns(vars(lesson))
    skills = _skills(lesson.skills, "input.skills")
    prerequisites = _prerequisites(lesson.prerequisites, "input.prerequisites")
    lesson_id = courses_db.new_id("lesson")
    async with runtime.engine.begin() as conn:
        module = (await courses_db.modules_in(conn, [lesson.module_id])).get(lesson.module_id)
        if module is None:
            raise BadUserInput(f"No module {lesson.module_id!r}.", field="input.moduleId")
        await courses_db.touch_course(conn, module["course_id"])
        await _skills_exist(conn, skills)
        await _lesson_links(conn, lesson_id, prerequisites, lesson.quiz_id)
        row = {"id": lesson_id, "module_id": module["id"], "course_id": module["course_id"]}
        await courses_db.insert_lesson(conn, {**row, "published": True, **columns}, position)
        await courses_db.set_lesson_skills(conn, lesson_id, skills)
        await courses_db.set_lesson_prerequisites(conn, lesson_id, prerequisites)
    return lesson_id


async def update_lesson(
    runtime: Runtime, principal: Principal, lesson_id: str, changes: Mapping[str, Any]
) -> str:
    """Change the given fields of a lesson (staff), bumping its course's content version;
    skills, prerequisites and completion are replaced as a whole."""
    permissions.require_staff(principal)
    if not changes:  # nothing to change: no new content version either
        if not await courses_db.lessons_by_id(runtime.reads, [lesson_id]):
            raise NotFound(f"No lesson {lesson_id!r}.", field="input.id")
        return lesson_id
    for name in changes:
        if name not in _NULLABLE:
            _required(changes, name)
    position = _position(changes.get("position"), "input.position")
    columns = _lesson_columns(changes)
    skills = _skills(changes["skills"], "input.skills") if "skills" in changes else None
    prerequisites = None
    if "prerequisites" in changes:
        prerequisites = _prerequisites(changes["prerequisites"], "input.prerequisites")
    async with runtime.engine.begin() as conn:
        if prerequisites is not None:
            await courses_db.lock_graph(conn, "lesson")
        course_id = await courses_db.course_of_lesson(conn, lesson_id)
        if course_id is not None:
            await courses_db.touch_course(conn, course_id)
        # Read under the course's lock: a lesson deleted meanwhile is not found.
        lesson = (await courses_db.live_lessons_in(conn, [lesson_id])).get(lesson_id)
        if lesson is None:
            raise NotFound(f"No lesson {lesson_id!r}.", field="input.id")
        if skills is not None:
            await _skills_exist(conn, skills)
            await courses_db.set_lesson_skills(conn, lesson_id, skills)
        await _lesson_links(conn, lesson_id, prerequisites, columns.get("quiz_id"))
        if prerequisites is not None:
            field = "input.prerequisites"
            ids = [p["lesson_id"] for p in prerequisites]
            await _check_cycles(conn, "lesson", lesson_id, ids, field)
            await courses_db.set_lesson_prerequisites(conn, lesson_id, prerequisites)
        if position is not None:
            await courses_db.move_lesson(conn, lesson, position)
        await courses_db.update_lesson(conn, lesson_id, columns)
    return lesson_id


class _Unchanged(Exception):
    """Ends a transaction that turned out to change nothing (rolled back)."""


async def delete_lesson(runtime: Runtime, principal: Principal, lesson_id: str) -> str:
    """Soft-delete a lesson (staff): it disappears from every read; progress and evidence
    keep pointing at it. A lesson deleted already stays so (nothing changes: a retried
    delete succeeds); NOT_FOUND when there never was one."""
    permissions.require_staff(principal)
    try:
        async with runtime.engine.begin() as conn:
            course_id = await courses_db.course_of_lesson(conn, lesson_id)
            if course_id is None:
                raise NotFound(f"No lesson {lesson_id!r}.", field="id")
            await courses_db.touch_course(conn, course_id)
            if not await courses_db.delete_lesson(conn, lesson_id):
                raise _Unchanged
    except _Unchanged:
        pass
    return lesson_id
