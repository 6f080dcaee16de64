"""Learning goals and recommendations as the API changes them: creating and editing a
goal (its path is rebuilt in the same transaction), recomputing on request, and
answering a recommendation. Learners act on their own; staff on anyone's."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from db import goals as goals_db
from db import learner_reads
from db import recommendations as recommendations_db
from db import skills as skills_db
from db.engine import asyncpg_connection
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, Forbidden, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import plans
from learntwin_graphql.services.inputs import required_id
from ml.student_recommendations import can_respond
from workers import plan_queue
from workers.events import publish
from workers.keys import goal_channel, recommendation_channel

MAX_TARGETS = 50
DESCRIPTION_MAX = 2000
NOTE_MAX = 1000
WEEKLY_MINUTES_MAX = 7 * 24 * 60
DEFAULT_TARGET = 0.95
SETTABLE_STATUSES = ("ACTIVE", "PAUSED", "ABANDONED")


@dataclass(frozen=True)
class GoalWrite:
    """A goal as the client sent it; None: not given (on update, unchanged)."""

    description: str | None
    targets: list[tuple[str, float]] | None
    target_date: date | None
    weekly_minutes: int | None
    status: str | None = None


def _checked(write: GoalWrite, field: str, *, creating: bool) -> dict[str, Any]:
    """The columns to store, checked; BAD_USER_INPUT names the field."""
    out: dict[str, Any] = {}
    if write.description is not None or creating:
        text = (write.description or "").strip()
        if not text or len(text) > DESCRIPTION_MAX:
            raise BadUserInput(
                f"`description` must be 1..{DESCRIPTION_MAX} characters, not blank.",
                field=f"{field}.description",
            )
        out["description"] = text
    if write.targets is not None or creating:
        out["targets"] = _targets(write.targets or [], f"{field}.targetSkills")
    if write.weekly_minutes is not None:
        if not 1 <= write.weekly_minutes <= WEEKLY_MINUTES_MAX:
            raise BadUserInput(
                f"`weeklyMinutes` must be 1..{WEEKLY_MINUTES_MAX}.", field=f"{field}.weeklyMinutes"
            )
        out["weekly_minutes"] = write.weekly_minutes
    if write.target_date is not None:
        out["target_date"] = write.target_date
    if write.status is not None:
        if write.status not in SETTABLE_STATUSES:
            raise BadUserInput(
                "`status` may be set to ACTIVE, PAUSED or ABANDONED; a goal becomes COMPLETED"
                " when its targets are reached.",
                field=f"{field}.status",
            )
        out["status"] = write.status
    return out


def _targets(targets: list[tuple[str, float]], field: str) -> list[tuple[str, float]]:
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise BadUserInput(f"A goal has 1..{MAX_TARGETS} target skills.", field=field)
    seen: set[str] = set()
    cleaned = []
    for n, (skill, mastery) in enumerate(targets):
        skill_id = required_id(skill, f"{field}[{n}].skillId")
        if skill_id in seen:
            raise BadUserInput(
                f"Skill {skill_id!r} is listed twice.", field=f"{field}[{n}].skillId"
            )
        if not (math.isfinite(mastery) and 0 < mastery <= 1):
            raise BadUserInput(
                "`targetMastery` must be above 0 and at most 1.",
                field=f"{field}[{n}].targetMastery",
            )
        seen.add(skill_id)
        cleaned.append((skill_id, float(mastery)))
    return cleaned


async def _known_skills(raw: Any, targets: list[tuple[str, float]], field: str) -> None:
    found = await skills_db.by_id(raw, [s for s, _ in targets])
    for n, (skill, _) in enumerate(targets):
        if skill not in found:
            raise BadUserInput(f"No skill {skill!r}.", field=f"{field}[{n}].skillId")


def _snapshot(levels: dict[str, dict[str, Any]], targets: list[tuple[str, float]]) -> list[Any]:
    keys = (
        "skill_id",
        "p_mastery",
        "opportunities",
        "correct",
        "recent",
        "last_practiced_at",
        "prior",
        "learn",
        "guess",
        "slip",
        "forget",
    )
    return [
        {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in levels[s].items()
            if k in keys
        }
        for s, _ in targets
    ]


async def content_changed(runtime: Runtime) -> None:
    """After a commit that may change what paths are made of (what lessons teach, which
    are published, the skill graph, a skill's prior): every student with an active goal
    gets its paths rebuilt in the background."""
    students = await goals_db.students_with_active_goals(runtime.reads)
    await plan_queue.mark(runtime.redis, students, plans.CONTENT_CHANGED)


async def create(
    runtime: Runtime, principal: Principal, student_id: str, write: GoalWrite
) -> dict[str, Any]:
    """A new ACTIVE goal with version 1 of its path, in one transaction."""
    student = permissions.student_acted_for(principal, required_id(student_id, "input.studentId"))
    assert student is not None
    fields = _checked(write, "input", creating=True)
    async with runtime.engine.begin() as conn:
        raw = await asyncpg_connection(conn)
        await _known_skills(raw, fields["targets"], "input.targetSkills")
        await goals_db.lock_plans(raw, student)
        levels = await learner_reads.levels_with_priors(
            raw, student, [s for s, _ in fields["targets"]]
        )
        goal_id = await goals_db.insert_goal(
            raw,
            student_id=student,
            description=fields["description"],
            targets=fields["targets"],
            target_date=fields.get("target_date"),
            weekly_minutes=fields.get("weekly_minutes"),
            snapshot=_snapshot(levels, fields["targets"]),
        )
        outcome = await plans.recompute_in(raw, student, plans.GOAL_CHANGED, goal_id=goal_id)
        goal = (await goals_db.goals_by_id(raw, [goal_id]))[goal_id]
    await publish(runtime.redis, outcome.channels)
    return goal


async def goal_for(
    runtime: Runtime, principal: Principal, goal_id: str, field: str
) -> dict[str, Any]:
    """The goal, once the caller may see its student (NOT_FOUND for an unknown id)."""
    found = (await goals_db.goals_by_id(runtime.reads, [goal_id])).get(goal_id)
    if found is None:
        raise NotFound(f"No learning goal {goal_id!r}.", field=field)
    permissions.require_student(principal, found["student_id"])
    return found


async def active_path(runtime: Runtime, goal_id: str) -> dict[str, Any] | None:
    """The goal's active version, read fresh (for subscriptions)."""
    return (await goals_db.active_paths(runtime.reads, [goal_id])).get(goal_id)


async def update(
    runtime: Runtime, principal: Principal, goal_id: str, write: GoalWrite
) -> dict[str, Any]:
    """Change the given fields; the student's paths are rebuilt at once."""
    goal = await goal_for(runtime, principal, goal_id, "input.id")
    fields = _checked(write, "input", creating=False)
    targets = fields.pop("targets", None)
    async with runtime.engine.begin() as conn:
        raw = await asyncpg_connection(conn)
        if targets is not None:
            await _known_skills(raw, targets, "input.targetSkills")
        await goals_db.lock_plans(raw, goal["student_id"])
        # Read again under the lock: a recompute may have completed it meanwhile.
        current = (await goals_db.goals_by_id(raw, [goal_id]))[goal_id]
        if fields.get("status") == "ACTIVE" and current["status"] == goals_db.COMPLETED:
            fields["completed_at"] = None
        await goals_db.update_goal(raw, goal_id, fields, targets)
        outcome = await plans.recompute_in(
            raw, goal["student_id"], plans.GOAL_CHANGED, goal_id=goal_id
        )
        updated = (await goals_db.goals_by_id(raw, [goal_id]))[goal_id]
    await publish(runtime.redis, [*outcome.channels, goal_channel(goal_id)])
    return updated


async def recompute(runtime: Runtime, principal: Principal, goal_id: str) -> dict[str, Any]:
    """Rebuild now; the active version (the same one when nothing changed)."""
    goal = await goal_for(runtime, principal, goal_id, "goalId")
    await plans.recompute(runtime.engine, runtime.redis, goal["student_id"], plans.MANUAL)
    path = (await goals_db.active_paths(runtime.reads, [goal_id])).get(goal_id)
    if path is None:
        raise BadUserInput("The goal has no path yet.", field="goalId")
    return path


async def respond(
    runtime: Runtime, principal: Principal, rec_id: str, response: str, note: str | None
) -> dict[str, Any]:
    """Answer an OPEN recommendation, once."""
    found = (await recommendations_db.by_id(runtime.reads, [rec_id])).get(rec_id)
    if found is None:
        raise NotFound(f"No recommendation {rec_id!r}.", field="input.id")
    permissions.require_student(principal, found["student_id"])
    if principal.student_id != found["student_id"]:
        raise Forbidden("Only the learner answers its recommendations; staff read them.")
    if note is not None and len(note) > NOTE_MAX:
        raise BadUserInput(f"`note` is at most {NOTE_MAX} characters.", field="input.note")
    async with runtime.engine.begin() as conn:
        raw = await asyncpg_connection(conn)
        await goals_db.lock_plans(raw, found["student_id"])
        now = datetime.now(UTC)
        expired = found["expires_at"] is not None and found["expires_at"] <= now
        if can_respond(found["status"]) and expired:
            await recommendations_db.retire(raw, [rec_id], "EXPIRED")
            row = None
        else:
            row = await recommendations_db.respond(raw, rec_id, response, note)
    await publish(runtime.redis, [recommendation_channel(found["student_id"])])
    if row is None:
        raise BadUserInput(
            "Only an OPEN recommendation can be answered; this one is no longer open.",
            field="input.id",
        )
    return row


async def recent_recommendations(
    runtime: Runtime, student_id: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The student's newest recommendations, oldest of them first (for subscriptions)."""
    rows = await recommendations_db.pages(runtime.reads, [student_id], None, None, None, limit)
    return list(reversed(rows.get(student_id, [])))
