"""Enrolment and lesson progress: enrol and drop, record lesson activity (idempotent
per event id, completing lessons by their rule, scored activity as mastery evidence),
availability of lessons, and a student's time zone."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from db import courses as catalogue
from db import enrollments as db
from db import goals as goals_db
from db.engine import Target, asyncpg_connection
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import learner_model
from learntwin_graphql.services.inputs import required_id
from ml.course_rules import (
    COMPLETED,
    Activity,
    AvailabilityInput,
    AvailabilityResult,
    CompletionRule,
    LessonPrerequisite,
    Progress,
    apply_activity,
    availability,
    lesson_observations,
)
from ml.learner_model import Observation
from workers import plan_queue

AHEAD = timedelta(minutes=5)
BACK = timedelta(days=365)
EVENT_ID_MAX = 128
OPEN = ("ACTIVE", "COMPLETED")


@dataclass(frozen=True)
class ActivityInput:
    lesson_id: str
    student_id: str
    event_id: str
    occurred_at: datetime | None
    active_seconds: int
    completion: float | None
    score: float | None
    pauses: int
    rewinds: int
    hints_used: int
    mark_done: bool


def progress_of(row: dict[str, Any] | None) -> Progress:
    if row is None:
        return Progress()
    return Progress(**{f.name: row[f.name] for f in fields(Progress)})


def untouched(student_id: str, lesson_id: str) -> dict[str, Any]:
    """The progress row of a lesson with no activity yet."""
    return {"student_id": student_id, "lesson_id": lesson_id, **asdict(Progress())}


def rule_of(lesson: dict[str, Any]) -> CompletionRule:
    return CompletionRule(lesson["completion_rule"], lesson["min_score"], lesson["min_minutes"])


async def availability_of(
    target: Target, student_id: str, lesson_ids: Sequence[str]
) -> tuple[dict[str, AvailabilityResult], dict[str, Progress]]:
    """Availability of each lesson for the student, and the progress it was decided from
    (five statements whatever the number of lessons, three of them at once)."""
    lessons = await catalogue.lessons_by_id(target, lesson_ids)
    return await availability_for(target, student_id, lessons)


async def availability_for(
    target: Target, student_id: str, lessons: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, AvailabilityResult], dict[str, Progress]]:
    """`availability_of` for lessons already read (rows of db.courses.lessons_by_id)."""
    module_ids = sorted({row["module_id"] for row in lessons.values()})
    course_ids = sorted({row["course_id"] for row in lessons.values()})
    reads = (
        catalogue.lesson_prerequisites_of(target, list(lessons)),
        db.prerequisite_modules(target, module_ids),
        db.prerequisite_courses(target, student_id, course_ids),
    )
    if isinstance(target, AsyncEngine):  # separate pooled connections: at once
        prerequisites, modules, courses = await asyncio.gather(*reads)
    else:  # one transaction's connection: in turn
        prerequisites, modules, courses = [await read for read in reads]
    involved = set(lessons)
    involved |= {p["prerequisite_id"] for rows in prerequisites.values() for p in rows}
    involved |= {i for by_module in modules.values() for ids in by_module.values() for i in ids}
    stored = await db.progress(target, student_id, sorted(involved))
    progress = {k: progress_of(v) for k, v in stored.items()}
    found = {}
    for lesson_id, lesson in lessons.items():
        spec = AvailabilityInput(
            lesson_id=lesson_id,
            lesson_prerequisites=[
                LessonPrerequisite(p["prerequisite_id"], p["min_score"], p["min_completion"])
                for p in prerequisites.get(lesson_id, [])
            ],
            prerequisite_modules=modules.get(lesson["module_id"], {}),
            prerequisite_courses=courses.get(lesson["course_id"], {}),
        )
        found[lesson_id] = availability(spec, progress)
    return found, progress


def _checked(item: ActivityInput, now: datetime) -> tuple[str, datetime]:
    event_id = item.event_id.strip()
    if not event_id or len(event_id) > EVENT_ID_MAX:
        raise BadUserInput(
            f"`eventId` must be 1..{EVENT_ID_MAX} characters.", field="input.eventId"
        )
    at = (item.occurred_at or now).astimezone(UTC)
    if at > now + AHEAD or at < now - BACK:
        raise BadUserInput(
            "`occurredAt` must be at most 5 minutes ahead and at most 365 days back.",
            field="input.occurredAt",
        )
    checks = (
        ("activeSeconds", item.active_seconds, 0, 3600),
        ("completion", item.completion, 0, 1),
        ("score", item.score, 0, 100),
        ("pauses", item.pauses, 0, 1_000_000),
        ("rewinds", item.rewinds, 0, 1_000_000),
        ("hintsUsed", item.hints_used, 0, 1_000_000),
    )
    for name, value, low, high in checks:
        if value is not None and not low <= value <= high:
            raise BadUserInput(f"`{name}` must be {low}..{high}.", field=f"input.{name}")
    return event_id, at


async def record_activity(
    runtime: Runtime, principal: Principal, item: ActivityInput
) -> dict[str, Any]:
    """Store the activity once and fold it into the lesson's progress (see the module
    docstring); the enrolment must be open and the lesson AVAILABLE or COMPLETED."""
    student = permissions.student_acted_for(
        principal, required_id(item.student_id, "input.studentId")
    )
    assert student is not None
    now = datetime.now(UTC)
    event_id, at = _checked(item, now)
    lesson = (await catalogue.lessons_by_id(runtime.reads, [item.lesson_id])).get(item.lesson_id)
    if lesson is None or not permissions.can_see_content(
        principal, lesson["course_published"], lesson["published"]
    ):
        raise NotFound(f"No lesson {item.lesson_id!r}.", field="input.lessonId")
    measured = {f.name: getattr(item, f.name) for f in fields(Activity) if f.name != "occurred_at"}
    activity = Activity(occurred_at=at, **measured)
    evidence: list[learner_model.Evidence] = []
    async with runtime.engine.begin() as conn:
        await learner_model.lock(conn, student)
        raw = await asyncpg_connection(conn)
        enrollment = await db.enrollment_of(raw, student, lesson["course_id"])
        if enrollment is None or enrollment["status"] not in OPEN:
            raise BadUserInput(
                "The student is not enrolled in this lesson's course (enroll first).",
                field="input.lessonId",
            )
        found, progress = await availability_for(raw, student, {lesson["id"]: lesson})
        state = found[lesson["id"]]
        if state.status not in ("AVAILABLE", COMPLETED):
            blocked = [p.lesson_id for p in state.blocked_by_lessons] + list(
                state.blocked_by_modules
            )
            blocked += list(state.blocked_by_courses)
            raise BadUserInput(
                f"The lesson is locked until its prerequisites are met: {', '.join(blocked)}.",
                field="input.lessonId",
                blockedBy=blocked,
            )
        current = progress.get(lesson["id"], Progress())
        payload = orjson.dumps(measured).decode()
        if not await db.record_activity(raw, student, lesson["id"], event_id, at, payload):
            return {"student_id": student, "lesson_id": lesson["id"], **asdict(current)}
        updated = apply_activity(current, activity, rule_of(lesson))
        await db.store_progress(raw, student, lesson["id"], asdict(updated))
        if item.score is not None:
            skills = (await catalogue.lesson_skills_of(raw, [lesson["id"]])).get(lesson["id"], [])
            weights = {row["skill_id"]: row["weight"] for row in skills}
            evidence = [
                learner_model.Evidence(
                    skill,
                    Observation(correct, weight, at, item.hints_used),
                    learner_model.LESSON_SCORE,
                    lesson["id"],
                )
                for skill, correct, weight in lesson_observations(
                    item.score, rule_of(lesson), weights
                )
            ]
            await learner_model.apply(conn, student, evidence, locked=True)
        await _settle_enrollment(
            raw,
            enrollment,
            student,
            lesson["course_id"],
            at,
            updated.status == COMPLETED and current.status != COMPLETED,
        )
    await learner_model.announce(runtime, [student] if evidence else [])
    if not evidence and updated.status != current.status:  # a path step's status moved
        await plan_queue.mark(runtime.redis, [student], "MASTERY_CHANGED")
    return {"student_id": student, "lesson_id": lesson["id"], **asdict(updated)}


async def quiz_activity(
    runtime: Runtime, principal: Principal, quiz_id: str, student_id: str, attempt: dict[str, Any]
) -> None:
    """A submitted quiz is a scored activity of each lesson it grades (score = the
    attempt's score), where the student is enrolled and the lesson is open to it."""
    for lesson_id in await db.lessons_graded_by(runtime.reads, quiz_id):
        item = ActivityInput(
            lesson_id,
            student_id,
            f"quiz-attempt:{attempt['id']}",
            attempt["submitted_at"],
            0,
            None,
            attempt["score"],
            0,
            0,
            0,
            False,
        )
        try:
            await record_activity(runtime, principal, item)
        except (BadUserInput, NotFound):
            continue  # not enrolled, or the lesson is locked or hidden: the attempt stands


async def _settle_enrollment(
    raw: Any,
    enrollment: dict[str, Any],
    student: str,
    course_id: str,
    at: datetime,
    completed: bool,
) -> None:
    """The newest activity's time; COMPLETED once every published lesson is (counted
    only when this activity completed a lesson: nothing else can complete a course)."""
    done_at = None
    if completed:
        finished, total = await db.completion_counts(raw, student, course_id)
        done_at = at if total and finished == total else None
    await db.touch_enrollment(raw, enrollment["id"], at, done_at)


async def enroll(
    runtime: Runtime,
    principal: Principal,
    course_id: str,
    student_id: str | None,
    goal_id: str | None = None,
) -> dict[str, Any]:
    """Learners enrol themselves in published courses; staff enrol anyone in any course.
    Enrolling again returns the same enrolment (reactivated when it was dropped)."""
    student = permissions.student_acted_for(principal, student_id)
    if student is None:
        raise BadUserInput("`studentId` is required for staff.", field="input.studentId")
    published = (await db.courses_published(runtime.reads, [course_id])).get(course_id)
    if published is None or not permissions.can_see_content(principal, published):
        raise NotFound(f"No course {course_id!r}.", field="input.courseId")
    if goal_id is not None:
        goal = (await goals_db.goals_by_id(runtime.reads, [goal_id])).get(goal_id)
        if goal is None or goal["student_id"] != student:
            raise BadUserInput(f"No goal {goal_id!r} of this student.", field="input.goalId")
    async with runtime.engine.begin() as conn:
        row = await db.enroll(await asyncpg_connection(conn), student, course_id, goal_id)
    # The course ranks first for the student's lessons now, and may hold its next lesson.
    await plan_queue.mark(runtime.redis, [student], "MASTERY_CHANGED")
    return row


async def drop(runtime: Runtime, principal: Principal, enrollment_id: str) -> dict[str, Any]:
    found = (await db.enrollments_by_id(runtime.reads, [enrollment_id])).get(enrollment_id)
    if found is None:
        raise NotFound(f"No enrolment {enrollment_id!r}.", field="id")
    permissions.require_student(principal, found["student_id"])
    async with runtime.engine.begin() as conn:
        row = await db.set_status(await asyncpg_connection(conn), enrollment_id, "DROPPED")
    assert row is not None
    await plan_queue.mark(runtime.redis, [found["student_id"]], "MASTERY_CHANGED")
    return row


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA names zoneinfo can load (tzdata's), read once."""
    return frozenset(available_timezones() | {"UTC"})


def valid_timezone(name: str) -> bool:
    return name in _time_zones()


async def set_timezone(runtime: Runtime, principal: Principal, student_id: str, name: str) -> str:
    """An IANA time zone for the student (learners their own), else BAD_USER_INPUT."""
    student = required_id(student_id, "studentId")
    permissions.require_student(principal, student)
    if name not in _time_zones():
        raise BadUserInput(f"{name!r} is not an IANA time zone name.", field="timezone")
    async with runtime.engine.begin() as conn:
        raw = await asyncpg_connection(conn)
        await raw.execute(
            "INSERT INTO students (id, timezone) VALUES ($1, $2)"
            " ON CONFLICT (id) DO UPDATE SET timezone = EXCLUDED.timezone",
            student,
            name,
        )
    return student
