"""Rebuilding a student's recommendations inside a recompute: the candidates
(ml.student_recommendations) from the active path, the enrolments, the learner signals,
then the stored ones reconciled with them (kept, expired, superseded, made)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from db import courses as catalogue
from db import learner_reads
from db import recommendations as recommendations_db
from learntwin_graphql.services.learner_signals import Signals, lessons_for, signals_of
from ml.learner_model import card_retrievability
from ml.path_progress import step_status
from ml.student_recommendations import (
    SUPPRESSION,
    Candidate,
    DifficultyInfo,
    DueReview,
    NextLesson,
    NextStep,
    PauseInfo,
    RecommendationInput,
    Stored,
    StruggleInfo,
    candidates,
    expires_at,
    reconcile,
)

if TYPE_CHECKING:
    from learntwin_graphql.services.plans import Inputs

EXPIRED = "EXPIRED"
SUPERSEDED = "SUPERSEDED"


def step_done(step: Mapping[str, Any], path: Mapping[str, Any], inputs: Inputs) -> str:
    """A step's live status (ml.learning_paths.step_status) from the recompute's reads."""
    progress = inputs.progress.get(step["lesson_id"]) or {}
    return step_status(
        step["kind"],
        step["reason_code"],
        progress.get("status"),
        progress.get("last_activity_at"),
        [(inputs.levels.get(s) or {}).get("last_practiced_at") for s in step["skills"]],
        path["created_at"],
    )


def _next_step(
    goals: Sequence[Mapping[str, Any]], paths: Mapping[str, Mapping[str, Any]], inputs: Inputs
) -> NextStep | None:
    """The first step not done of the main (oldest) active goal's path."""
    for goal in goals[:1]:
        path = paths.get(goal["id"])
        for step in (path or {}).get("steps", []):
            if path is not None and step_done(step, path, inputs) != "DONE":
                lesson = inputs.lesson_rows.get(step["lesson_id"], {})
                return NextStep(
                    lesson_id=step["lesson_id"],
                    lesson_title=lesson.get("title", step["lesson_id"]),
                    goal_id=goal["id"],
                    position=step["position"],
                    skill_names=tuple(inputs.names.get(s, s) for s in step["skills"]),
                    reason=step["reason"],
                )
    return None


async def _next_lesson(raw: asyncpg.Connection, student_id: str) -> NextLesson | None:
    """The first available, uncompleted lesson of the oldest open enrolment that has one."""
    from learntwin_graphql.services.progress import availability_of  # a cycle otherwise

    for enrollment in await learner_reads.open_enrollments(raw, student_id):
        ids = list(enrollment["lesson_ids"])
        found, progress = await availability_of(raw, student_id, ids)
        completed = sum(1 for i in ids if (progress.get(i) and progress[i].status == "COMPLETED"))
        for lesson_id in ids:
            state = found.get(lesson_id)
            if state is not None and state.status == "AVAILABLE":
                lesson = (await catalogue.lessons_by_id(raw, [lesson_id]))[lesson_id]
                return NextLesson(
                    lesson_id=lesson_id,
                    lesson_title=lesson["title"],
                    course_id=enrollment["course_id"],
                    course_title=enrollment["course_title"],
                    completed=completed,
                    total=len(ids),
                )
    return None


async def _candidates(
    raw: asyncpg.Connection,
    student_id: str,
    step: NextStep | None,
    signals: Signals,
    now: datetime,
) -> list[Candidate]:
    skills = [row["skill_id"] for row in signals.due] + [s.skill_id for s in signals.struggles]
    lessons = await lessons_for(raw, student_id, skills)
    names = {row["skill_id"]: row["name"] for row in signals.levels}
    names.update({row["skill_id"]: row["name"] for row in signals.due})
    advice = signals.difficulty
    return candidates(
        RecommendationInput(
            next_step=step,
            next_lesson=None if step is not None else await _next_lesson(raw, student_id),
            due_reviews=[
                DueReview(
                    skill_id=row["skill_id"],
                    name=row["name"],
                    due=row["due"],
                    retrievability=card_retrievability(row["card"], now),
                    lesson_id=lessons.get(row["skill_id"]),
                )
                for row in signals.due
            ],
            struggles=[
                StruggleInfo(
                    skill_id=s.skill_id,
                    name=names.get(s.skill_id, s.skill_id),
                    p_mastery=s.p_mastery,
                    signals=s.signals,
                    severity=s.severity,
                    reason=s.reason,
                    lesson_id=lessons.get(s.skill_id),
                )
                for s in signals.struggles
            ],
            difficulty=DifficultyInfo(
                current=advice.current,
                suggested=advice.suggested,
                recent_accuracy=advice.recent_accuracy,
                answers_considered=advice.answers_considered,
                target_accuracy=advice.target_accuracy,
                reason=advice.reason,
            ),
            pauses=PauseInfo(pauses=signals.pauses, records=signals.records),
            now=now,
        )
    )


def _row(candidate: Candidate, now: datetime) -> dict[str, Any]:
    advice = candidate.difficulty
    return {
        "kind": candidate.kind,
        "target": candidate.target,
        "lesson_id": candidate.lesson_id,
        "skill_id": candidate.skill_id,
        "goal_id": candidate.goal_id,
        "difficulty": None if advice is None else vars(advice),
        "reason": candidate.reason,
        "evidence": candidate.evidence,
        "priority": candidate.priority,
        "confidence": candidate.confidence,
        "expires_at": expires_at(now),
    }


async def rebuild(
    raw: asyncpg.Connection,
    student_id: str,
    goals: Sequence[Mapping[str, Any]],
    paths: Mapping[str, Mapping[str, Any]],
    inputs: Inputs,
) -> list[dict[str, Any]]:
    """Reconcile the stored recommendations with today's candidates; returns every row
    that was made or changed."""
    now = inputs.now
    signals = (await signals_of(raw, [student_id], now))[student_id]
    fresh = await _candidates(raw, student_id, _next_step(goals, paths, inputs), signals, now)
    stored = await recommendations_db.live(raw, student_id, now - SUPPRESSION)
    decision = reconcile(
        [
            Stored(
                id=row["id"],
                target=row["target"],
                kind=row["kind"],
                status=row["status"],
                created_at=row["created_at"],
                expires_at=row["expires_at"],
                responded_at=row["responded_at"],
            )
            for row in stored
        ],
        fresh,
        now,
    )
    changed = await recommendations_db.retire(raw, decision.expire, EXPIRED)
    changed += await recommendations_db.retire(raw, decision.supersede, SUPERSEDED)
    changed += await recommendations_db.insert(
        raw, student_id, [_row(c, now) for c in decision.create]
    )
    return changed
