"""The checks of course catalogue writes: the inputs of courses, modules and lessons, each
value checked and turned into the columns it sets, and the checks against the stored
catalogue made inside the writing transaction (ids that must exist, prerequisite cycles);
each refusal is BAD_USER_INPUT naming the input field."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import course_writes
from db.courses import Kind
from learntwin_graphql.errors import BadUserInput
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


def check_title(value: str, field: str, maximum: int = TITLE_MAX) -> str:
    title = value.strip()
    if not title or len(title) > maximum:
        raise BadUserInput(f"`{field}` must be 1..{maximum} characters.", field=field)
    return title


def check_text(value: str | None, maximum: int, field: str) -> str | None:
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


def check_position(value: int | None, field: str) -> int | None:
    if value is not None and value < 0:
        raise BadUserInput(f"`{field}` must be 0 or more (default: the end).", field=field)
    return value


def check_required(changes: Mapping[str, Any], name: str) -> Any:
    value = changes[name]
    if value is None:
        raise BadUserInput(f"`{_camel(name)}` cannot be null.", field=f"input.{_camel(name)}")
    return value


def check_distinct(ids: Sequence[str], field: str, what: str) -> list[str]:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise BadUserInput(f"{what} {value!r} is named twice.", field=f"{field}.{index}")
        seen.add(value)
    return list(ids)


def _objectives(values: Sequence[str], field: str) -> list[str]:
    if len(values) > MAX_OBJECTIVES:
        raise BadUserInput(f"At most {MAX_OBJECTIVES} learning objectives.", field=field)
    return [check_title(v, f"{field}.{i}", OBJECTIVE_MAX) for i, v in enumerate(values)]


def check_skills(skills: Sequence[SkillWeight], field: str) -> dict[str, float]:
    if not skills:
        raise BadUserInput("A lesson teaches at least one skill.", field=field)
    if len(skills) > MAX_SKILLS:
        raise BadUserInput(f"At most {MAX_SKILLS} skills per lesson.", field=field)
    check_distinct([s.skill_id for s in skills], field, "Skill")
    for index, skill in enumerate(skills):
        if not math.isfinite(skill.weight) or skill.weight <= 0:
            raise BadUserInput(
                "A skill's weight must be a finite number > 0.", field=f"{field}.{index}.weight"
            )
    return normalise_weights({s.skill_id: s.weight for s in skills})


def check_prerequisites(items: Sequence[PrerequisiteWrite], field: str) -> list[dict[str, Any]]:
    if len(items) > MAX_PREREQUISITES:
        raise BadUserInput(f"At most {MAX_PREREQUISITES} prerequisites.", field=field)
    check_distinct([p.lesson_id for p in items], field, "Lesson")
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
    "title": lambda v, f: {"title": check_title(v, f)},
    "content_type": lambda v, f: {"content_type": v},
    "content_url": lambda v, f: {"content_url": check_text(v, URL_MAX, f)},
    "body": lambda v, f: {"body": v or None},
    "learning_objectives": lambda v, f: {"learning_objectives": _objectives(v, f)},
    "difficulty": lambda v, f: {"difficulty": _integer(v, DIFFICULTY, f)},
    "estimated_minutes": lambda v, f: {"estimated_minutes": _integer(v, MINUTES, f)},
    "completion": _completion,
    "quiz_id": lambda v, f: {"quiz_id": v},
    "published": lambda v, f: {"published": v},
}
# The lesson fields an update may set to null.
NULLABLE = {"content_url", "body", "quiz_id"}


def lesson_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name, value in values.items():
        check = _LESSON_CHECKS.get(name)
        if check is not None:
            columns.update(check(value, f"input.{_camel(name)}"))
    return columns


def course_columns(values: Mapping[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "title" in values:
        columns["title"] = check_title(check_required(values, "title"), "input.title")
    if "summary" in values:
        columns["summary"] = check_text(values["summary"], SUMMARY_MAX, "input.summary")
    if "description" in values:
        columns["description"] = check_text(
            values["description"], DESCRIPTION_MAX, "input.description"
        )
    for name in ("difficulty", "published"):
        if name in values:
            columns[name] = check_required(values, name)
    return columns


# --- checks against the stored catalogue (inside the writing transaction) -----------------


async def check_all_exist(
    conn: AsyncConnection, table: str, ids: Sequence[str], field: str, what: str, suffix: str = ""
) -> None:
    """Refuse the first of `ids` that `table` lacks, naming `field.<index><suffix>`."""
    found = await course_writes.existing(conn, table, ids) if ids else set()
    for index, value in enumerate(ids):
        if value not in found:
            raise BadUserInput(f"No {what} {value!r}.", field=f"{field}.{index}{suffix}")


async def check_cycles(
    conn: AsyncConnection,
    kind: Kind,
    owner: str,
    prerequisites: Sequence[str],
    field: str,
) -> None:
    """Refuse new prerequisites of `owner` that would close a cycle, naming it."""
    graph = merged_graph(
        await course_writes.prerequisite_graph(conn, kind, prerequisites), {owner: prerequisites}
    )
    try:
        check_graph(graph, field=field)
    except GraphError as error:
        raise BadUserInput(str(error), field=field, **{f"{kind}Ids": error.ids}) from None


async def check_lesson_links(
    conn: AsyncConnection,
    lesson_id: str,
    prerequisites: Sequence[Mapping[str, Any]] | None,
    quiz: Any,
) -> None:
    """Check the other ids a lesson write names: prerequisite lessons (live, not the
    lesson itself; any course's) and the quiz."""
    if prerequisites:
        ids = [p["lesson_id"] for p in prerequisites]
        found = await course_writes.live_lessons_in(conn, ids)
        for index, value in enumerate(ids):
            field = f"input.prerequisites.{index}.lessonId"
            if value == lesson_id:
                raise BadUserInput("A lesson cannot be its own prerequisite.", field=field)
            if value not in found:
                raise BadUserInput(f"No lesson {value!r}.", field=field)
    if quiz is not None:
        if not await course_writes.existing(conn, "quizzes", [quiz]):
            raise BadUserInput(f"No quiz {quiz!r}.", field="input.quizId")


async def check_skills_exist(conn: AsyncConnection, skills: Mapping[str, float]) -> None:
    await check_all_exist(conn, "skills", list(skills), "input.skills", "skill", ".skillId")
