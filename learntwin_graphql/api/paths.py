"""Learning paths: immutable versions of a goal's ordered steps, each step a lesson with
why it is there, and the difference from the version before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.api.lessons import Lesson
from learntwin_graphql.api.skills import Skill, skills_by_ids
from learntwin_graphql.batching import batched, load_each, load_together, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import NotFound
from ml.path_progress import step_status

if TYPE_CHECKING:
    from learntwin_graphql.api.goals import LearningGoal

GoalType = Annotated["LearningGoal", strawberry.lazy("learntwin_graphql.api.goals")]


@strawberry.enum(description="Why a path version exists.")
class PathTrigger(Enum):
    INITIAL = strawberry.enum_value("INITIAL", description="The goal's first version.")
    MASTERY_CHANGED = strawberry.enum_value(
        "MASTERY_CHANGED",
        description="The student's mastery, lesson progress or enrolments changed, or time "
        "moved on.",
    )
    GOAL_CHANGED = strawberry.enum_value("GOAL_CHANGED", description="The goal was edited.")
    CONTENT_CHANGED = strawberry.enum_value(
        "CONTENT_CHANGED", description="Lessons, their skills or publication changed."
    )
    REVIEW_DUE = strawberry.enum_value(
        "REVIEW_DUE", description="Only review steps changed: reviews fell due."
    )
    MANUAL = strawberry.enum_value("MANUAL", description="recomputeLearningPath was called.")


@strawberry.enum(description="What a step asks of the learner.")
class PathStepKind(Enum):
    LEARN = strawberry.enum_value("LEARN", description="Study the lesson to raise mastery.")
    REVIEW = strawberry.enum_value("REVIEW", description="Revisit it: an FSRS review is due.")


@strawberry.enum(description="Why a step is on the path.")
class StepReason(Enum):
    TARGET_SKILL = strawberry.enum_value(
        "TARGET_SKILL", description="It teaches a target skill below its target."
    )
    PREREQUISITE = strawberry.enum_value(
        "PREREQUISITE", description="It teaches an unmastered prerequisite of a target."
    )
    REVIEW_DUE = strawberry.enum_value(
        "REVIEW_DUE", description="A skill of the goal is due for review."
    )
    REMEDIATION = strawberry.enum_value(
        "REMEDIATION", description="Completed already, yet its skill is still below."
    )


@strawberry.enum(description="A step's state, read live from lesson progress.")
class StepStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not started.")
    IN_PROGRESS = strawberry.enum_value("IN_PROGRESS", description="Started, not completed.")
    DONE = strawberry.enum_value(
        "DONE", description="Lesson completed (a review: practised since the version)."
    )


def _lesson_or_gone(lesson_id: str, row: Any) -> Any:
    if not row:  # deleted or unpublished since the version was made
        return NotFound(f"Lesson {lesson_id!r} is no longer available.")
    return Lesson.from_row(row)


async def _step_lessons(info: Info, steps: Sequence[PathStep]) -> list[Any]:
    found = await load_each(info.context.loaders.lesson, [s.lesson_id for s in steps])
    return [
        row if isinstance(row, Exception) else _lesson_or_gone(s.lesson_id, row)
        for s, row in zip(steps, found, strict=True)
    ]


async def _step_skills(info: Info, steps: Sequence[PathStep]) -> list[Any]:
    return await skills_by_ids(info, [s.skill_ids for s in steps])


async def _step_targets(info: Info, steps: Sequence[PathStep]) -> list[Any]:
    return await skills_by_ids(info, [s.leads_to_ids for s in steps])


async def _step_status(info: Info, steps: Sequence[PathStep]) -> list[Any]:
    loaders = info.context.loaders
    progress = await load_together(
        loaders.step_progress, [(s.lesson_id, s.student_id) for s in steps]
    )
    pairs = [(s.student_id, k) for s in steps if s.kind is PathStepKind.REVIEW for k in s.skill_ids]
    levels = dict(zip(pairs, await load_together(loaders.level, pairs), strict=True))
    found: list[Any] = []
    for step, row in zip(steps, progress, strict=True):
        practised = [levels.get((step.student_id, k)) for k in step.skill_ids]
        failed = [v for v in (row, *practised) if isinstance(v, Exception)]
        if failed:
            found.append(failed[0])
            continue
        state = step_status(
            step.kind.value,
            step.reason_code.value,
            (row or {}).get("status"),
            (row or {}).get("last_activity_at"),
            [(r or {}).get("last_practiced_at") for r in practised],
            step.version_created_at,
        )
        found.append(StepStatus(state))
    return found


@strawberry.type(description="One step of a path: a lesson to learn or review, and why.")
class PathStep:
    lesson_id: strawberry.Private[str]
    skill_ids: strawberry.Private[list[str]]
    leads_to_ids: strawberry.Private[list[str]]
    student_id: strawberry.Private[str]
    version_created_at: strawberry.Private[datetime]
    position: int = strawberry.field(description="1, 2, 3 ... in path order.")
    kind: PathStepKind = strawberry.field(description="LEARN or REVIEW.")
    reason_code: StepReason = strawberry.field(description="Why the step is there.")
    reason: str = strawberry.field(description="Human-readable, with the numbers behind it.")
    estimated_minutes: int = strawberry.field(
        description="The lesson's estimate (half of it for a review)."
    )

    @classmethod
    def from_dict(cls, step: dict[str, Any], path: dict[str, Any]) -> PathStep:
        return cls(
            lesson_id=step["lesson_id"],
            skill_ids=list(step["skills"]),
            leads_to_ids=list(step["leads_to"]),
            student_id=path["student_id"],
            version_created_at=path["created_at"],
            position=step["position"],
            kind=PathStepKind(step["kind"]),
            reason_code=StepReason(step["reason_code"]),
            reason=step["reason"],
            estimated_minutes=step["estimated_minutes"],
        )

    @strawberry.field(description="The lesson (NOT_FOUND if it was deleted or unpublished since).")
    @batched(_step_lessons)
    async def lesson(self, info: Info) -> Lesson:
        return await one(_step_lessons(info, [self]))

    @strawberry.field(description="The skills this step covers, in path order.")
    @batched(_step_skills)
    async def skills(self, info: Info) -> list[Skill]:
        return await one(_step_skills(info, [self]))

    @strawberry.field(description="The goal's target skills this step leads to.")
    @batched(_step_targets)
    async def leads_to(self, info: Info) -> list[Skill]:
        return await one(_step_targets(info, [self]))

    @strawberry.field(description="PENDING, IN_PROGRESS or DONE, read live from progress.")
    @batched(_step_status)
    async def status(self, info: Info) -> StepStatus:
        return await one(_step_status(info, [self]))


@strawberry.type(description="What changed against the previous version.")
class PathDiff:
    added: list[PathStep] = strawberry.field(description="Steps new in this version.")
    removed: list[PathStep] = strawberry.field(
        description="Steps of the previous version no longer here (positions as they were)."
    )
    moved: list[PathStep] = strawberry.field(
        description="Steps kept whose order changed against the others kept."
    )


async def _path_goals(info: Info, paths: Sequence[LearningPath]) -> list[Any]:
    from learntwin_graphql.api.goals import LearningGoal

    found = await load_each(info.context.loaders.goal, [p.goal_id for p in paths])
    return mapped(found, LearningGoal.from_row)


async def _uncovered(info: Info, paths: Sequence[LearningPath]) -> list[Any]:
    return await skills_by_ids(info, [p.uncovered_ids for p in paths])


@strawberry.type(
    description="An immutable snapshot of a goal's path; a new version is stored only when "
    "the ordered steps change."
)
class LearningPath:
    goal_id: strawberry.Private[str]
    uncovered_ids: strawberry.Private[list[str]]
    id: strawberry.ID = strawberry.field(description="Server-made: `path-` and 12 hex digits.")
    version: int = strawberry.field(description="1, 2, 3 ... per goal.")
    active: bool = strawberry.field(description="Whether this is the goal's current version.")
    trigger: PathTrigger = strawberry.field(description="What made this version.")
    reason: str = strawberry.field(description="Why this version exists, with the changes.")
    steps: list[PathStep] = strawberry.field(description="The steps, in order.")
    estimated_minutes: int = strawberry.field(description="The steps' minutes summed.")
    estimated_completion_date: date | None = strawberry.field(
        description="At the goal's weeklyMinutes; null without a plan."
    )
    diff: PathDiff | None = strawberry.field(
        description="Against the previous version; null for version 1."
    )
    created_at: datetime = strawberry.field(description="When the version was stored.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LearningPath:
        diff = row["diff"]
        return cls(
            goal_id=row["goal_id"],
            uncovered_ids=list(row["uncovered"]),
            id=row["id"],
            version=row["version"],
            active=row["active"],
            trigger=PathTrigger(row["trigger"]),
            reason=row["reason"],
            steps=[PathStep.from_dict(s, row) for s in row["steps"]],
            estimated_minutes=row["estimated_minutes"],
            estimated_completion_date=row["estimated_completion_date"],
            diff=None
            if diff is None
            else PathDiff(
                **{part: [PathStep.from_dict(s, row) for s in diff[part]] for part in diff}
            ),
            created_at=row["created_at"],
        )

    @strawberry.field(description="The goal.")
    @batched(_path_goals)
    async def goal(self, info: Info) -> GoalType:
        return await one(_path_goals(info, [self]))

    @strawberry.field(description="Target skills (and prerequisites) no published lesson teaches.")
    @batched(_uncovered)
    async def uncovered_skills(self, info: Info) -> list[Skill]:
        return await one(_uncovered(info, [self]))
