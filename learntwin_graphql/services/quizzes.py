"""Quizzes: generation as a background task, and submission with grading, XP and the
streak in one transaction, followed by the profile task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db import quizzes
from db import tasks as task_rows
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import learner_model, tasks
from learntwin_graphql.services import progress as lesson_progress
from learntwin_graphql.services.inputs import clean_id, required_id
from ml.attempts import grade_attempt, progress_after
from ml.learner_model import Observation
from ml.quiz import Difficulty
from workers import queueing
from workers.jobs import ANALYZE_PROFILE, GENERATE_QUIZ

TOPIC_MAX = 200
MAX_QUESTIONS = 20


@dataclass(frozen=True)
class Submission:
    attempt: dict[str, Any]
    profile_task: dict[str, Any]


async def generate(
    runtime: Runtime,
    principal: Principal,
    topic: str,
    question_count: int,
    difficulty: Difficulty,
    student_id: str | None,
) -> dict[str, Any]:
    """A QUIZ_GENERATION task, queued; a LEARNER generates only for the linked student."""
    student = permissions.student_acted_for(principal, clean_id(student_id, "studentId"))
    topic = topic.strip()
    if not topic or len(topic) > TOPIC_MAX:
        raise BadUserInput(f"`topic` must be 1..{TOPIC_MAX} characters.", field="topic")
    if not 1 <= question_count <= MAX_QUESTIONS:
        raise BadUserInput(f"`questionCount` must be 1..{MAX_QUESTIONS}.", field="questionCount")
    params = {
        "topic": topic,
        "count": question_count,
        "difficulty": difficulty.value,
        "student_id": student,
    }
    async with runtime.engine.begin() as conn:
        task = await queueing.create(
            conn,
            runtime.worker_config,
            kind=task_rows.QUIZ_GENERATION,
            params=params,
            owner_user_id=principal.user_id,
            owner_student_id=student,
        )
    await tasks.enqueue(runtime, task, GENERATE_QUIZ)
    return task


def _given(rows: Sequence[dict[str, Any]], answers: Sequence[tuple[str, list[str]]]) -> dict:
    """The submitted values by question number; each question at most once."""
    by_id = {row["id"]: row for row in rows}
    given: dict[int, list[str]] = {}
    for index, (question_id, values) in enumerate(answers):
        row = by_id.get(question_id)
        where = f"answers.{index}.questionId"
        if row is None:
            raise BadUserInput(f"Question {question_id!r} is not in this quiz.", field=where)
        if row["number"] in given:
            raise BadUserInput(f"Question {question_id!r} is answered twice.", field=where)
        given[row["number"]] = values
    return given


def _answer_evidence(
    rows: Sequence[dict[str, Any]], graded: Any, attempt_id: str, at: datetime
) -> tuple[list[learner_model.Evidence], dict[str, str]]:
    """One weight-1 observation per answered question, in question-number order, of the
    skill the question names (created from its text when new)."""
    skill_by_number = {row["number"]: learner_model.skill_of(row["skill"]) for row in rows}
    evidence: list[learner_model.Evidence] = []
    names: dict[str, str] = {}
    for answer in sorted(graded.answers, key=lambda a: a.number):
        skill = skill_by_number.get(answer.number)
        if skill is None or not answer.given:
            continue
        names.setdefault(*skill)
        observation = Observation(correct=answer.correct, weight=1.0, at=at)
        evidence.append(
            learner_model.Evidence(skill[0], observation, learner_model.QUIZ_ANSWER, attempt_id)
        )
    return evidence, names


async def submit(
    runtime: Runtime,
    principal: Principal,
    quiz_id: str,
    student_id: str,
    answers: Sequence[tuple[str, list[str]]],
) -> Submission:
    """Grade an attempt and store it with the student's XP and streak (the student row
    locked, so concurrent submissions cannot double-count), then queue its profile."""
    student = permissions.student_acted_for(principal, required_id(student_id, "studentId"))
    assert student is not None
    quiz = (await quizzes.quizzes_by_id(runtime.reads, [quiz_id])).get(quiz_id)
    if quiz is None:
        raise NotFound(f"No quiz {quiz_id!r}.", field="quizId")
    rows = (await quizzes.questions_of(runtime.reads, [quiz["id"]])).get(quiz["id"], [])
    graded = grade_attempt([quizzes.as_quiz_question(row) for row in rows], _given(rows, answers))
    number_to_id = {row["number"]: row["id"] for row in rows}
    now = datetime.now(UTC)
    async with runtime.engine.begin() as conn:
        await quizzes.lock_student(conn, student)
        previous = await quizzes.latest_attempt(conn, student)
        progress = progress_after(
            graded,
            previous_xp_total=previous["xp_total"] if previous else 0,
            previous_streak=previous["streak_days"] if previous else 0,
            previous_day=previous["submitted_at"].astimezone(UTC).date() if previous else None,
            today=now.date(),
        )
        attempt_id = quizzes.new_id()
        task = await queueing.create(
            conn,
            runtime.worker_config,
            kind=task_rows.PROFILE_ANALYSIS,
            params={"attempt_id": attempt_id},
            owner_user_id=principal.user_id,
            owner_student_id=student,
        )
        attempt = await quizzes.store_attempt(
            conn,
            {
                "id": attempt_id,
                "quiz_id": quiz["id"],
                "student_id": student,
                "score": graded.score,
                "correct_count": graded.correct_count,
                "total_count": graded.total_count,
                "answers": [
                    {
                        "question_id": number_to_id[a.number],
                        "given": list(a.given),
                        "correct": a.correct,
                        "expected": list(a.expected),
                    }
                    for a in graded.answers
                ],
                "xp_awarded": progress.xp_awarded,
                "xp_total": progress.xp_total,
                "streak_days": progress.streak_days,
                "profile_task_id": task["id"],
                "submitted_at": now,
            },
        )
        evidence, names = _answer_evidence(rows, graded, attempt_id, now)
        await learner_model.apply(conn, student, evidence, names)
    await learner_model.announce(runtime, [student] if evidence else [])
    await lesson_progress.quiz_activity(runtime, principal, quiz["id"], student, attempt)
    await tasks.enqueue(runtime, task, ANALYZE_PROFILE)
    return Submission(attempt, task)
