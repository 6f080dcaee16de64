"""Evidence into the learner model: each observation of a skill updates the student's
BKT estimate and FSRS card and is kept as a mastery event, inside the transaction that
stores the evidence itself (a quiz attempt, a lesson activity, a metric record).

Callers run `apply` in their transaction and `announce` after the commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import courses as catalogue
from db import learner_model as levels_db
from db import skills as skills_db
from db.engine import asyncpg_connection
from learntwin_graphql.runtime import Runtime
from ml.course_rules import METRIC_WEIGHT, metric_observation
from ml.learner_model import (
    Observation,
    SkillState,
    TracingParams,
    apply_observation,
    initial_state,
    slugify,
)
from ml.metrics import MetricRecord
from workers import plan_queue
from workers.events import publish
from workers.keys import skill_channel

QUIZ_ANSWER = "QUIZ_ANSWER"
LESSON_SCORE = "LESSON_SCORE"
METRIC = "METRIC"


@dataclass(frozen=True)
class Evidence:
    """One observation of one skill, with where it came from."""

    skill_id: str
    observation: Observation
    source: str
    source_id: str | None = None


def skill_of(text: str) -> tuple[str, str] | None:
    """The skill a free-text name (a quiz question's `skill`) stands for: its slug and the
    name to create it with; None when nothing of it makes a slug."""
    slug = slugify(text)
    return (slug, text.strip() or slug) if slug else None


def params_of(row: Mapping[str, Any]) -> TracingParams:
    return TracingParams(
        prior=row["prior"],
        learn=row["learn"],
        guess=row["guess"],
        slip=row["slip"],
        forget=row["forget"],
    )


def state_of(row: Mapping[str, Any]) -> SkillState:
    return SkillState(
        p_mastery=row["p_mastery"],
        opportunities=row["opportunities"],
        correct=row["correct"],
        recent=tuple(row["recent"]),
        last_practiced_at=row["last_practiced_at"],
        card=row["card"],
    )


async def lock(conn: AsyncConnection, student_id: str) -> None:
    """Hold the student's learner-model lock for the rest of the transaction (work that
    decides on progress before it applies evidence takes it first)."""
    await levels_db.lock_learner(conn, student_id)


async def apply(
    conn: AsyncConnection,
    student_id: str,
    evidence: Sequence[Evidence],
    names: Mapping[str, str] | None = None,
    *,
    locked: bool = False,
) -> list[str]:
    """Apply the evidence in order (skills not known yet are created, named by `names`
    or their id) and store the levels and events; returns the skills whose level changed.
    Serialised per student by `lock_learner`, so concurrent submissions lose nothing."""
    if not evidence:
        return []
    if not locked:  # the caller may hold the student's lock already
        await levels_db.lock_learner(conn, student_id)
    wanted = list(dict.fromkeys(e.skill_id for e in evidence))
    skill_rows = await skills_db.ensure(conn, {s: (names or {}).get(s, s) for s in wanted})
    stored = await levels_db.levels_in(conn, student_id, wanted)
    states: dict[str, SkillState] = {}
    events: list[dict[str, Any]] = []
    for item in evidence:
        params = params_of(skill_rows[item.skill_id])
        state = states.get(item.skill_id)
        if state is None:
            row = stored.get(item.skill_id)
            state = state_of(row) if row is not None else initial_state(params)
        update = apply_observation(state, item.observation, params)
        states[item.skill_id] = update.after
        events.append(
            {
                "student_id": student_id,
                "skill_id": item.skill_id,
                "at": item.observation.at,
                "source": item.source,
                "source_id": item.source_id,
                "correct": item.observation.correct,
                "weight": item.observation.weight,
                "p_before": update.p_before,
                "p_after": update.p_after,
                "review_rating": update.review_rating,
            }
        )
    rows = [{"skill_id": skill, **asdict(state)} for skill, state in states.items()]
    await levels_db.store_levels(conn, student_id, rows)
    await levels_db.store_events(conn, events)
    return list(states)


async def apply_metrics(conn: AsyncConnection, records: Sequence[MetricRecord]) -> list[str]:
    """Class metrics about a skill or a lesson (each of its skills) as soft evidence:
    gotIt correct, stuck wrong, neither or both nothing; weight 0.3. Returns the students
    whose levels changed. Students are locked in id order (no deadlock between ingests)."""
    lessons = {r.lesson_id for r in records if r.lesson_id is not None}
    found = (
        await catalogue.lesson_skills_of(await asyncpg_connection(conn), sorted(lessons))
        if lessons
        else {}
    )
    skills_of = {lesson: [row["skill_id"] for row in rows] for lesson, rows in found.items()}
    by_student: dict[str, list[Evidence]] = {}
    for r in records:
        correct = metric_observation(r.got_it, r.stuck)
        if correct is None:
            continue
        wanted = [r.skill_id] if r.skill_id is not None else []
        wanted += [s for s in skills_of.get(r.lesson_id or "", []) if s not in wanted]
        observation = Observation(correct=correct, weight=METRIC_WEIGHT, at=r.ts)
        by_student.setdefault(r.student_id, []).extend(
            Evidence(skill, observation, METRIC, r.event_id) for skill in wanted
        )
    changed = []
    for student in sorted(by_student):
        if await apply(conn, student, by_student[student]):
            changed.append(student)
    return changed


async def announce(runtime: Runtime, student_ids: Iterable[str]) -> None:
    """After the commit: subscribers of these students' levels re-read them, and their
    paths and recommendations are rebuilt in the background."""
    students = list(dict.fromkeys(student_ids))
    await publish(runtime.redis, [skill_channel(s) for s in students])
    await plan_queue.mark(runtime.redis, students, "MASTERY_CHANGED")
