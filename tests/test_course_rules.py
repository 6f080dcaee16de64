"""Course rules: completion by each rule, progress sums, evidence, availability."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ml.course_rules import (
    DEFAULT_MIN_SCORE,
    METRIC_WEIGHT,
    Activity,
    AvailabilityInput,
    CompletionRule,
    LessonPrerequisite,
    Progress,
    apply_activity,
    availability,
    enrollment_progress,
    lesson_observations,
    metric_observation,
    normalise_weights,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(rule: CompletionRule, *activities: Activity) -> Progress:
    progress = Progress()
    for activity in activities:
        progress = apply_activity(progress, activity, rule)
    return progress


def test_view_completes_on_any_activity_and_stays_completed() -> None:
    rule = CompletionRule("VIEW")
    once = run(rule, Activity(at(0)))
    assert once.status == "COMPLETED" and once.completion == 1.0
    assert once.completed_at == at(0)
    twice = apply_activity(once, Activity(at(5)), rule)
    assert twice.status == "COMPLETED" and twice.completion == 1.0
    assert twice.completed_at == at(0)
    assert twice.first_activity_at == at(0) and twice.last_activity_at == at(5)
    assert twice.attempts == 0


def test_mark_done() -> None:
    rule = CompletionRule("MARK_DONE")
    started = run(rule, Activity(at(0), completion=0.4))
    assert started.status == "IN_PROGRESS" and started.completion == 0.4
    done = apply_activity(started, Activity(at(3), mark_done=True), rule)
    assert done.status == "COMPLETED" and done.completed_at == at(3)


def test_min_score_keeps_the_best_score_and_counts_attempts() -> None:
    rule = CompletionRule("MIN_SCORE")
    low = run(rule, Activity(at(0), score=50.0), Activity(at(1), score=65.0))
    assert low.status == "IN_PROGRESS" and low.score == 65.0 and low.attempts == 2
    passed = apply_activity(low, Activity(at(2), score=DEFAULT_MIN_SCORE), rule)
    assert passed.status == "COMPLETED" and passed.completed_at == at(2)
    worse = apply_activity(passed, Activity(at(3), score=10.0), rule)
    assert worse.score == 70.0 and worse.attempts == 4 and worse.status == "COMPLETED"
    custom = CompletionRule("MIN_SCORE", min_score=90.0)
    assert run(custom, Activity(at(0), score=85.0)).status == "IN_PROGRESS"
    assert run(custom, Activity(at(0), score=90.0)).status == "COMPLETED"


def test_min_time_accumulates_across_activities() -> None:
    rule = CompletionRule("MIN_TIME", min_minutes=5)
    progress = run(rule, Activity(at(0), active_seconds=120), Activity(at(2), active_seconds=120))
    assert progress.status == "IN_PROGRESS" and progress.active_seconds == 240
    progress = apply_activity(progress, Activity(at(4), active_seconds=60), rule)
    assert progress.status == "COMPLETED" and progress.completed_at == at(4)


def test_completion_never_decreases_and_sums_add_up() -> None:
    rule = CompletionRule("MARK_DONE")
    progress = run(
        rule,
        Activity(at(0), completion=0.6, pauses=1, rewinds=2, hints_used=1, active_seconds=30),
        Activity(at(1), completion=0.3, pauses=2, hints_used=2, active_seconds=45),
        Activity(at(2)),
    )
    assert progress.completion == 0.6
    assert (progress.pauses, progress.rewinds, progress.hints_used) == (3, 2, 3)
    assert progress.active_seconds == 75


def test_out_of_order_activity_times() -> None:
    rule = CompletionRule("MARK_DONE")
    progress = run(rule, Activity(at(10)), Activity(at(2)))
    assert progress.first_activity_at == at(2) and progress.last_activity_at == at(10)


def test_lesson_observations() -> None:
    weights = {"loops": 0.7, "types": 0.3}
    assert lesson_observations(70.0, CompletionRule(), weights) == [
        ("loops", True, 0.7),
        ("types", True, 0.3),
    ]
    assert lesson_observations(69.9, CompletionRule(), weights)[0] == ("loops", False, 0.7)
    strict = CompletionRule("MIN_SCORE", min_score=80.0)
    assert lesson_observations(75.0, strict, weights)[1] == ("types", False, 0.3)
    zero = CompletionRule("MIN_SCORE", min_score=0.0)
    assert lesson_observations(0.0, zero, weights)[0][1] is True


def test_metric_observation() -> None:
    assert metric_observation(True, False) is True
    assert metric_observation(False, True) is False
    assert metric_observation(False, False) is None
    assert metric_observation(True, True) is None
    assert 0 < METRIC_WEIGHT < 1


def test_normalise_weights() -> None:
    normalised = normalise_weights({"a": 1.0, "b": 3.0})
    assert normalised == pytest.approx({"a": 0.25, "b": 0.75})
    assert math.fsum(normalised.values()) == pytest.approx(1.0)
    for bad in ({}, {"a": 0.0}, {"a": -1.0}, {"a": math.nan}, {"a": math.inf}):
        with pytest.raises(ValueError):
            normalise_weights(bad)


def done(score: float | None = None, completion: float = 1.0) -> Progress:
    return Progress(status="COMPLETED", completion=completion, score=score)


def lesson(
    prerequisites: tuple[LessonPrerequisite, ...] = (),
    modules: dict[str, list[str]] | None = None,
    courses: dict[str, bool] | None = None,
) -> AvailabilityInput:
    return AvailabilityInput("L", prerequisites, modules or {}, courses or {})


def test_available_without_prerequisites_and_completed_when_done() -> None:
    assert availability(lesson(), {}).status == "AVAILABLE"
    blocked = lesson((LessonPrerequisite("P"),), {"M": ["x"]}, {"C": False})
    result = availability(blocked, {"L": done()})
    assert result.status == "COMPLETED"
    assert result.blocked_by_lessons == ()
    assert result.blocked_by_modules == () and result.blocked_by_courses == ()


def test_locked_by_lessons() -> None:
    plain = LessonPrerequisite("P")
    scored = LessonPrerequisite("Q", min_score=80.0)
    watched = LessonPrerequisite("R", min_completion=0.9)
    target = lesson((plain, scored, watched))
    result = availability(
        target,
        {"P": Progress(status="IN_PROGRESS"), "Q": done(score=75.0), "R": done()},
    )
    assert result.status == "LOCKED"
    assert result.blocked_by_lessons == (plain, scored)
    missing = availability(target, {"P": done(), "Q": done()})
    assert missing.blocked_by_lessons == (scored, watched)
    partial = availability(target, {"P": done(), "Q": done(score=90.0), "R": done(completion=0.5)})
    assert partial.blocked_by_lessons == (watched,)
    ok = availability(target, {"P": done(), "Q": done(score=80.0), "R": done()})
    assert ok.status == "AVAILABLE" and ok.blocked_by_lessons == ()


def test_locked_by_modules_and_courses() -> None:
    target = lesson(modules={"M1": ["a", "b"], "M2": ["c"], "EMPTY": []})
    result = availability(target, {"a": done(), "b": Progress(status="IN_PROGRESS")})
    assert result.status == "LOCKED" and result.blocked_by_modules == ("M1", "M2")
    everything = {"a": done(), "b": done(), "c": done()}
    assert availability(target, everything).status == "AVAILABLE"

    courses = lesson(courses={"C1": True, "C2": False})
    result = availability(courses, {})
    assert result.status == "LOCKED" and result.blocked_by_courses == ("C2",)
    assert availability(lesson(courses={"C1": True}), {}).status == "AVAILABLE"


def test_enrollment_progress() -> None:
    progress = {"a": done(), "b": Progress(status="IN_PROGRESS"), "z": done()}
    assert enrollment_progress(["a", "b", "c", "d"], progress) == (1, 4, 0.25)
    assert enrollment_progress([], progress) == (0, 0, 0.0)
