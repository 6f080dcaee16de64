"""Course rules: lesson progress from activities, lesson availability, enrollment progress.

Plain dataclasses in, plain dataclasses out; the lesson-to-skill evidence is returned as
tuples so this module needs nothing from the learner model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

DEFAULT_MIN_SCORE = 70.0
METRIC_WEIGHT = 0.3

NOT_STARTED = "NOT_STARTED"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
AVAILABLE = "AVAILABLE"
LOCKED = "LOCKED"


@dataclass(frozen=True)
class CompletionRule:
    """When a lesson counts as completed: rule is VIEW, MARK_DONE, MIN_SCORE or MIN_TIME."""

    rule: str = "VIEW"
    min_score: float | None = None
    min_minutes: int | None = None


@dataclass(frozen=True)
class Progress:
    """One student's progress in one lesson; status NOT_STARTED, IN_PROGRESS or COMPLETED."""

    status: str = NOT_STARTED
    completion: float = 0.0
    score: float | None = None
    attempts: int = 0
    active_seconds: int = 0
    pauses: int = 0
    rewinds: int = 0
    hints_used: int = 0
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Activity:
    """One reported lesson activity (a view, a scored attempt, time spent, mark done)."""

    occurred_at: datetime
    active_seconds: int = 0
    completion: float | None = None
    score: float | None = None
    pauses: int = 0
    rewinds: int = 0
    hints_used: int = 0
    mark_done: bool = False


def _min_score(rule: CompletionRule) -> float:
    return rule.min_score if rule.min_score is not None else DEFAULT_MIN_SCORE


def _meets_rule(progress: Progress, activity: Activity, rule: CompletionRule) -> bool:
    if rule.rule == "VIEW":
        return True
    if rule.rule == "MARK_DONE":
        return activity.mark_done
    if rule.rule == "MIN_SCORE":
        return progress.score is not None and progress.score >= _min_score(rule)
    if rule.rule == "MIN_TIME":
        return progress.active_seconds / 60 >= (rule.min_minutes or 0)
    raise ValueError(f"unknown completion rule {rule.rule!r}")


def apply_activity(progress: Progress, activity: Activity, rule: CompletionRule) -> Progress:
    """The progress after one activity: sums, best score, never-decreasing completion, status.

    Completion follows the rule (VIEW: any activity, MARK_DONE: mark_done, MIN_SCORE: best
    score ≥ min_score or 70, MIN_TIME: total active minutes ≥ min_minutes); once COMPLETED
    the lesson stays COMPLETED with completion 1.0 and the time of the completing activity.
    """
    at = activity.occurred_at
    completion = progress.completion
    if activity.completion is not None:
        completion = max(completion, min(1.0, max(0.0, activity.completion)))
    score = progress.score
    if activity.score is not None:
        score = activity.score if score is None else max(score, activity.score)
    first, last = progress.first_activity_at, progress.last_activity_at
    updated = replace(
        progress,
        completion=completion,
        score=score,
        attempts=progress.attempts + (1 if activity.score is not None else 0),
        active_seconds=progress.active_seconds + max(0, activity.active_seconds),
        pauses=progress.pauses + max(0, activity.pauses),
        rewinds=progress.rewinds + max(0, activity.rewinds),
        hints_used=progress.hints_used + max(0, activity.hints_used),
        first_activity_at=at if first is None else min(first, at),
        last_activity_at=at if last is None else max(last, at),
    )
    if progress.status == COMPLETED:
        return replace(updated, status=COMPLETED, completion=1.0)
    if _meets_rule(updated, activity, rule):
        return replace(updated, status=COMPLETED, completion=1.0, completed_at=at)
    return replace(updated, status=IN_PROGRESS)


def lesson_observations(
    score: float, rule: CompletionRule, skill_weights: Mapping[str, float]
) -> list[tuple[str, bool, float]]:
    """One (skill_id, correct, weight) per skill of a scored lesson, in the mapping's order.

    Correct when the score reaches the rule's min_score (70 when unset).
    """
    correct = score >= _min_score(rule)
    return [(skill_id, correct, weight) for skill_id, weight in skill_weights.items()]


def metric_observation(got_it: bool, stuck: bool) -> bool | None:
    """The outcome a class metric gives: gotIt True, stuck False, neither or both None."""
    if got_it == stuck:
        return None
    return got_it


def normalise_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights scaled to sum to 1; ValueError when empty or a weight is ≤ 0 or not finite."""
    if not weights:
        raise ValueError("at least one weight is required")
    for skill_id, weight in weights.items():
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"weight of {skill_id!r} must be a finite number > 0")
    total = math.fsum(weights.values())
    return {skill_id: weight / total for skill_id, weight in weights.items()}


# --- availability -------------------------------------------------------------------


@dataclass(frozen=True)
class LessonPrerequisite:
    """A lesson that must be completed first, optionally with a minimum score/completion."""

    lesson_id: str
    min_score: float | None = None
    min_completion: float | None = None


@dataclass(frozen=True)
class AvailabilityInput:
    """A lesson's prerequisites: lessons, modules (with their published lessons), courses."""

    lesson_id: str
    lesson_prerequisites: Sequence[LessonPrerequisite]
    prerequisite_modules: Mapping[str, Sequence[str]]
    prerequisite_courses: Mapping[str, bool]


@dataclass(frozen=True)
class AvailabilityResult:
    """AVAILABLE, LOCKED or COMPLETED, with what blocks the lesson when LOCKED."""

    status: str
    blocked_by_lessons: tuple[LessonPrerequisite, ...]
    blocked_by_modules: tuple[str, ...]
    blocked_by_courses: tuple[str, ...]


def _is_completed(progress: Progress | None) -> bool:
    return progress is not None and progress.status == COMPLETED


def _blocks(prerequisite: LessonPrerequisite, progress: Progress | None) -> bool:
    if progress is None or progress.status != COMPLETED:
        return True
    if prerequisite.min_score is not None and (
        progress.score is None or progress.score < prerequisite.min_score
    ):
        return True
    return prerequisite.min_completion is not None and (
        progress.completion < prerequisite.min_completion
    )


def availability(lesson: AvailabilityInput, progress: Mapping[str, Progress]) -> AvailabilityResult:
    """Whether the student may open the lesson, from their progress by lesson id.

    COMPLETED (empty blocked lists) when the lesson itself is completed; LOCKED while a
    prerequisite lesson, module (any of its lessons) or course is not satisfied; else
    AVAILABLE.
    """
    if _is_completed(progress.get(lesson.lesson_id)):
        return AvailabilityResult(COMPLETED, (), (), ())
    lessons = tuple(
        prerequisite
        for prerequisite in lesson.lesson_prerequisites
        if _blocks(prerequisite, progress.get(prerequisite.lesson_id))
    )
    modules = tuple(
        module_id
        for module_id, lesson_ids in lesson.prerequisite_modules.items()
        if not all(_is_completed(progress.get(lesson_id)) for lesson_id in lesson_ids)
    )
    courses = tuple(
        course_id for course_id, done in lesson.prerequisite_courses.items() if not done
    )
    status = LOCKED if lessons or modules or courses else AVAILABLE
    return AvailabilityResult(status, lessons, modules, courses)


def enrollment_progress(
    published_lesson_ids: Sequence[str], progress: Mapping[str, Progress]
) -> tuple[int, int, float]:
    """(completed lessons, published lessons, their ratio; 0.0 when none are published)."""
    total = len(published_lesson_ids)
    completed = sum(
        1 for lesson_id in published_lesson_ids if _is_completed(progress.get(lesson_id))
    )
    return completed, total, (completed / total if total else 0.0)
