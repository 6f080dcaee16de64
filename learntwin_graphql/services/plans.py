"""Recomputing a student's plans: each active goal's path (a new immutable version only
when its ordered steps change) and the student's recommendations, in one transaction
under the student's plan lock, then the pushes.

The inputs are read here (db.learner_reads), the rules are ml's: ml.learning_paths for
paths, ml.student_recommendations for recommendations. Run by the coalesced background
job of each student (services.plan_jobs), and directly by the goal mutations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from db import classes, learner_reads
from db import enrollments as enrollments_db
from db import goals as goals_db
from db.engine import asyncpg_connection
from learntwin_graphql.services import learner_signals, recommendation_inputs
from ml.learner_model import card_due
from ml.learning_paths import (
    LessonOption,
    PathInput,
    Plan,
    PlannedStep,
    Target,
    build_path,
    is_reached,
    path_diff,
    step_keys,
)
from ml.path_progress import completion_date
from ml.skill_graph import ancestors
from workers.events import publish
from workers.keys import goal_channel, recommendation_channel

INITIAL = "INITIAL"
MASTERY_CHANGED = "MASTERY_CHANGED"
GOAL_CHANGED = "GOAL_CHANGED"
CONTENT_CHANGED = "CONTENT_CHANGED"
REVIEW_DUE = "REVIEW_DUE"
MANUAL = "MANUAL"

_WHY = {
    INITIAL: "First path for the goal",
    MASTERY_CHANGED: "Mastery changed",
    GOAL_CHANGED: "The goal changed",
    CONTENT_CHANGED: "Course content changed",
    REVIEW_DUE: "Reviews fell due",
    MANUAL: "Recomputed on request",
}


@dataclass
class Inputs:
    """What every goal of one student is planned from, read once per recompute."""

    graph: dict[str, list[str]]
    levels: dict[str, dict[str, Any]]
    lessons: list[LessonOption]
    lesson_rows: dict[str, dict[str, Any]]
    progress: dict[str, dict[str, Any]]
    timezone: ZoneInfo
    now: datetime

    @property
    def mastery(self) -> dict[str, float]:
        return {skill: row["p_mastery"] for skill, row in self.levels.items()}

    @property
    def names(self) -> dict[str, str]:
        return {skill: row["name"] for skill, row in self.levels.items()}

    @property
    def today(self) -> Any:
        return self.now.astimezone(self.timezone).date()


def targets_of(goal: Mapping[str, Any]) -> list[Target]:
    return [Target(t["skill_id"], t["target_mastery"]) for t in goal["targets"]]


async def read_inputs(
    target: Any, student_id: str, goals: Sequence[Mapping[str, Any]], now: datetime
) -> Inputs:
    graph = await learner_reads.skill_graph(target)
    wanted = {t.skill_id for g in goals for t in targets_of(g)}
    wanted |= ancestors(graph, wanted)
    levels = await learner_reads.levels_with_priors(target, student_id, sorted(wanted))
    rows = await learner_reads.teaching_lessons(target, student_id, sorted(wanted))
    lessons = learner_signals.options(rows)
    lesson_rows = {row["lesson_id"]: dict(row) for row in rows}
    progress = await enrollments_db.progress(target, student_id, sorted(lesson_rows))
    zone = (await classes.timezones_of(target, [student_id])).get(student_id, "UTC")
    return Inputs(graph, levels, lessons, lesson_rows, progress, ZoneInfo(zone), now)


def plan_goal(goal: Mapping[str, Any], inputs: Inputs) -> Plan:
    relevant = {t.skill_id for t in targets_of(goal)}
    relevant |= ancestors(inputs.graph, relevant)
    due = {}
    for skill in relevant:
        row = inputs.levels.get(skill)
        when = card_due(row["card"]) if row else None
        if when is not None and when <= inputs.now:
            due[skill] = when
    completed = frozenset(
        lesson for lesson, row in inputs.progress.items() if row["status"] == "COMPLETED"
    )
    return build_path(
        PathInput(
            targets=targets_of(goal),
            mastery=inputs.mastery,
            graph=inputs.graph,
            lessons=inputs.lessons,
            completed_lessons=completed,
            due_reviews=due,
            names=inputs.names,
            now=inputs.now,
        )
    )


def _step_dict(step: PlannedStep, position: int) -> dict[str, Any]:
    return {"position": position, **asdict(step)}


def _version_fields(
    goal: Mapping[str, Any], plan: Plan, old: Mapping[str, Any] | None, trigger: str, inputs: Inputs
) -> dict[str, Any]:
    steps = [_step_dict(step, n) for n, step in enumerate(plan.steps, start=1)]
    keys = step_keys(plan.steps)
    diff = None
    if old is None:
        trigger = INITIAL if trigger != MANUAL else trigger
        reason = f"{_WHY[trigger]}: {len(steps)} steps, {plan.estimated_minutes} minutes."
    else:
        old_steps = old["steps"]
        old_keys = tuple((s["kind"], s["lesson_id"]) for s in old_steps)
        change = path_diff(old_keys, keys)
        diff = {
            "added": [steps[i] for i in change.added],
            "removed": [old_steps[i] for i in change.removed],
            "moved": [steps[i] for i in change.moved],
        }
        if trigger == MASTERY_CHANGED and _only_reviews(diff):
            trigger = REVIEW_DUE
        reason = (
            f"{_WHY[trigger]}: {len(change.added)} steps added, {len(change.removed)} removed,"
            f" {len(change.moved)} moved; {len(steps)} steps, {plan.estimated_minutes} minutes."
        )
    if not steps and is_reached(targets_of(goal), inputs.mastery):
        reason += " Every target skill is at its target mastery."
    return {
        "trigger": trigger,
        "reason": reason,
        "steps": steps,
        "estimated_minutes": plan.estimated_minutes,
        "estimated_completion_date": completion_date(
            plan.estimated_minutes, goal["weekly_minutes"], inputs.today
        ),
        "uncovered": list(plan.uncovered),
        "diff": diff,
    }


def _only_reviews(diff: Mapping[str, list[dict[str, Any]]]) -> bool:
    changed = [s for part in diff.values() for s in part]
    return bool(changed) and all(s["kind"] == "REVIEW" for s in changed)


@dataclass
class Outcome:
    """What one recompute stored: new path versions, goals completed, and the
    recommendations made or retired."""

    paths: list[dict[str, Any]]
    completed_goals: list[str]
    recommendations: list[dict[str, Any]]

    @property
    def channels(self) -> list[str]:
        goals = [p["goal_id"] for p in self.paths] + self.completed_goals
        found = [goal_channel(g) for g in dict.fromkeys(goals)]
        students = {r["student_id"] for r in self.recommendations}
        return found + [recommendation_channel(s) for s in sorted(students)]


async def recompute_in(
    raw: asyncpg.Connection, student_id: str, trigger: str, *, goal_id: str | None = None
) -> Outcome:
    """Inside the caller's transaction: take the plan lock, rebuild every active goal's
    path and the recommendations. With `goal_id` (an edited goal), `trigger` is that
    goal's; the others were rebuilt because time passed (MASTERY_CHANGED). The clock is
    read once the lock is held, so a recompute that waited plans for now."""
    await goals_db.lock_plans(raw, student_id)
    now = datetime.now(UTC)
    goals = await goals_db.active_goals(raw, student_id)
    inputs = await read_inputs(raw, student_id, goals, now)
    active = await goals_db.active_paths(raw, [g["id"] for g in goals])
    outcome = Outcome([], [], [])
    for goal in goals:
        why = trigger if goal_id is None or goal["id"] == goal_id else MASTERY_CHANGED
        plan = plan_goal(goal, inputs)
        old = active.get(goal["id"])
        old_keys = tuple((s["kind"], s["lesson_id"]) for s in old["steps"]) if old else None
        if old_keys != step_keys(plan.steps):
            row = await goals_db.store_path(
                raw, goal["id"], _version_fields(goal, plan, old, why, inputs)
            )
            active[goal["id"]] = row
            outcome.paths.append(row)
        elif old is not None:
            await _refresh_estimate(raw, goal, old, inputs)
        if is_reached(targets_of(goal), inputs.mastery):
            changes = {"status": goals_db.COMPLETED, "completed_at": now}
            await goals_db.update_goal(raw, goal["id"], changes, None)
            outcome.completed_goals.append(goal["id"])
    outcome.recommendations = await recommendation_inputs.rebuild(
        raw, student_id, goals, active, inputs
    )
    return outcome


async def _refresh_estimate(
    raw: asyncpg.Connection,
    goal: Mapping[str, Any],
    path: dict[str, Any],
    inputs: Inputs,
) -> None:
    """The completion date is an estimate, not part of the version's steps: kept current
    for today and the goal's weekly plan on the active version."""
    estimate = completion_date(path["estimated_minutes"], goal["weekly_minutes"], inputs.today)
    if estimate != path["estimated_completion_date"]:
        await goals_db.set_estimate(raw, path["id"], estimate)
        path["estimated_completion_date"] = estimate


async def recompute(engine: AsyncEngine, redis: ArqRedis, student_id: str, trigger: str) -> Outcome:
    """Rebuild the student's plans now and push what changed."""
    async with engine.begin() as conn:
        outcome = await recompute_in(await asyncpg_connection(conn), student_id, trigger)
    await publish(redis, outcome.channels)
    return outcome
