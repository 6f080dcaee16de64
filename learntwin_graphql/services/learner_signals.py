"""What the learner model says about how a student is doing now: struggling topics,
the difficulty advice, pauses and stuck reports of the last 7 days, and due reviews.
Read for many students at once (a page of dashboards) or for one inside a recompute;
the same figures drive recommendations and the dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from db import learner_reads
from ml.learner_analytics import (
    DifficultyResult,
    LessonEffort,
    SkillEvidence,
    Struggle,
    difficulty_advice,
    struggling_topics,
)
from ml.learning_paths import LessonOption, lesson_choices

WINDOW = timedelta(days=7)
ANSWERS = 20
DEFAULT_DIFFICULTY = 5


@dataclass
class Signals:
    struggles: list[Struggle]
    difficulty: DifficultyResult
    records: int
    pauses: int
    stuck: int
    due: list[dict[str, Any]]
    efforts: list[dict[str, Any]]
    levels: list[dict[str, Any]]

    @property
    def stuck_rate(self) -> float | None:
        return self.stuck / self.records if self.records else None


async def signals_of(
    target: Any, student_ids: Sequence[str], now: datetime, *, due_by: datetime | None = None
) -> dict[str, Signals]:
    ids = list(student_ids)
    levels = await learner_reads.level_summaries(target, ids)
    efforts = await learner_reads.lesson_efforts(target, ids)
    flags = await learner_reads.metric_flags(target, ids, now - WINDOW, now)
    answers = await learner_reads.graded_answers(target, ids, now, ANSWERS)
    due = await learner_reads.due_reviews(target, ids, due_by or now, None)
    found = {}
    for student in ids:
        mine = efforts.get(student, [])
        counts = flags.get(student, {"records": 0, "pauses": 0, "stuck": 0})
        records = int(counts["records"])
        stuck_rate = int(counts["stuck"]) / records if records else None
        found[student] = Signals(
            struggles=struggling_topics(
                [_evidence(row) for row in levels.get(student, [])],
                [_effort(row) for row in mine],
                stuck_rate,
            ),
            difficulty=difficulty_advice(current_difficulty(mine), answers.get(student, [])),
            records=records,
            pauses=int(counts["pauses"]),
            stuck=int(counts["stuck"]),
            due=due.get(student, []),
            efforts=mine,
            levels=levels.get(student, []),
        )
    return found


def current_difficulty(efforts: Sequence[Mapping[str, Any]]) -> int:
    """The difficulty of the lesson the student worked on last (efforts come newest
    first), or the middle of the scale before any."""
    return int(efforts[0]["difficulty"]) if efforts else DEFAULT_DIFFICULTY


def _evidence(row: Mapping[str, Any]) -> SkillEvidence:
    return SkillEvidence(
        skill_id=row["skill_id"],
        name=row["name"],
        p_mastery=row["p_mastery"],
        opportunities=row["opportunities"],
        recent=tuple(row["recent"]),
    )


def _effort(row: Mapping[str, Any]) -> LessonEffort:
    return LessonEffort(
        lesson_id=row["lesson_id"],
        skill_ids=tuple(row["skill_ids"]),
        active_seconds=row["active_seconds"],
        estimated_minutes=row["estimated_minutes"],
        completion=row["completion"],
        pauses=row["pauses"],
        rewinds=row["rewinds"],
    )


async def lessons_for(target: Any, student_id: str, skill_ids: Sequence[str]) -> dict[str, str]:
    """The lesson that teaches each skill best (the path's rule), by skill."""
    if not skill_ids:
        return {}
    rows = await learner_reads.teaching_lessons(target, student_id, sorted(set(skill_ids)))
    return {skill: option.lesson_id for skill, option in lesson_choices(options(rows)).items()}


def options(rows: Sequence[Mapping[str, Any]]) -> list[LessonOption]:
    """LessonOptions from db.learner_reads.teaching_lessons rows: courses the student is
    enrolled in rank first, then by id; a lesson's position is its place in its course."""
    courses = sorted({(not r["enrolled"], r["course_id"]) for r in rows})
    course_rank = {course: n for n, (_, course) in enumerate(courses)}
    first: dict[str, Mapping[str, Any]] = {}
    skills: dict[str, dict[str, float]] = {}
    for row in rows:
        first.setdefault(row["lesson_id"], row)
        skills.setdefault(row["lesson_id"], {})[row["skill_id"]] = row["weight"]
    order = sorted(first, key=lambda i: (tuple(first[i]["place"]), i))
    places = {lesson: n for n, lesson in enumerate(order)}
    return [
        LessonOption(
            lesson_id=lesson,
            course_order=course_rank[row["course_id"]],
            position=places[lesson],
            difficulty=row["difficulty"],
            estimated_minutes=row["estimated_minutes"],
            skills=skills[lesson],
        )
        for lesson, row in first.items()
    ]
