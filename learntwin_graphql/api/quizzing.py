"""Queries and mutations for tasks, quizzes and attempts."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from db import quizzes
from learntwin_graphql.api.identity import clean_id
from learntwin_graphql.api.learning import (
    DifficultyEnum,
    Quiz,
    QuizAttempt,
    QuizSubmission,
    Task,
    TaskKind,
    enqueue_task,
)
from learntwin_graphql.auth import Principal
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput, NotFound
from ml.attempts import grade_attempt, progress_after
from ml.quiz import Difficulty
from workers import tasks
from workers.jobs import ANALYZE_PROFILE, GENERATE_QUIZ

TOPIC_MAX = 200
MAX_QUESTIONS = 20


@strawberry.input
class GenerateQuizInput:
    topic: str
    question_count: int = 5
    difficulty: DifficultyEnum = Difficulty.INTERMEDIATE
    student_id: strawberry.ID | None = None


@strawberry.input
class AnswerInput:
    question_id: strawberry.ID
    values: list[str] = strawberry.field(
        description="One value for MULTIPLE_CHOICE, TRUE_FALSE and OPEN; several for LIST."
    )


@strawberry.input
class SubmitQuizInput:
    quiz_id: strawberry.ID
    student_id: strawberry.ID
    answers: list[AnswerInput]


def _student_for(info: Info, principal: Principal, student_id: str | None) -> str | None:
    """The student a request acts for; a LEARNER only ever for the linked one."""
    cleaned = clean_id(student_id, "studentId")
    if principal.is_staff:
        return cleaned
    info.context.loaders.check_student(cleaned or principal.student_id or "")
    return cleaned or principal.student_id


@strawberry.type
class QuizQuery:
    @strawberry.field
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        info.context.require()
        row = await info.context.loaders.task.load(id)
        if row is None:
            return None
        info.context.loaders.check_task(row)
        return Task.from_row(row)

    @strawberry.field
    async def quiz(self, info: Info, id: strawberry.ID) -> Quiz | None:
        info.context.require()
        row = await info.context.loaders.quiz.load(id)
        return Quiz.from_row(row) if row else None


@strawberry.type
class QuizMutation:
    @strawberry.mutation
    async def generate_quiz(self, info: Info, input: GenerateQuizInput) -> Task:
        principal = info.context.require()
        topic = input.topic.strip()
        if not topic or len(topic) > TOPIC_MAX:
            raise BadUserInput(f"`topic` must be 1..{TOPIC_MAX} characters.", field="topic")
        if not 1 <= input.question_count <= MAX_QUESTIONS:
            raise BadUserInput(
                f"`questionCount` must be 1..{MAX_QUESTIONS}.", field="questionCount"
            )
        student_id = _student_for(info, principal, input.student_id)
        runtime = info.context.runtime
        params = {
            "topic": topic,
            "count": input.question_count,
            "difficulty": Difficulty(input.difficulty).value,
            "student_id": student_id,
        }
        async with runtime.engine.begin() as conn:
            task = await tasks.create(
                conn,
                runtime.worker_config,
                kind=TaskKind.QUIZ_GENERATION.value,
                params=params,
                owner_user_id=principal.user_id,
                owner_student_id=student_id,
            )
        await enqueue_task(info, task, GENERATE_QUIZ)
        return Task.from_row(task)

    @strawberry.mutation
    async def submit_quiz(self, info: Info, input: SubmitQuizInput) -> QuizSubmission:
        principal = info.context.require()
        student_id = _student_for(info, principal, input.student_id)
        assert student_id is not None
        runtime = info.context.runtime
        quiz = await info.context.loaders.quiz.load(input.quiz_id)
        if quiz is None:
            raise NotFound(f"No quiz {input.quiz_id!r}.", field="quizId")
        rows = await info.context.loaders.quiz_questions.load(quiz["id"])
        by_id = {row["id"]: row for row in rows}
        given: dict[int, list[str]] = {}
        for index, answer in enumerate(input.answers):
            row = by_id.get(answer.question_id)
            if row is None:
                raise BadUserInput(
                    f"Question {answer.question_id!r} is not in this quiz.",
                    field=f"answers.{index}.questionId",
                )
            if row["number"] in given:
                raise BadUserInput(
                    f"Question {answer.question_id!r} is answered twice.",
                    field=f"answers.{index}.questionId",
                )
            given[row["number"]] = answer.values
        questions = [quizzes.as_quiz_question(row) for row in rows]
        graded = grade_attempt(questions, given)
        number_to_id = {row["number"]: row["id"] for row in rows}
        now = datetime.now(UTC)
        async with runtime.engine.begin() as conn:
            await quizzes.lock_student(conn, student_id)
            previous = await quizzes.latest_attempt(conn, student_id)
            progress = progress_after(
                graded,
                previous_xp_total=previous["xp_total"] if previous else 0,
                previous_streak=previous["streak_days"] if previous else 0,
                previous_day=previous["submitted_at"].astimezone(UTC).date() if previous else None,
                today=now.date(),
            )
            attempt_id = quizzes.new_id()
            task = await tasks.create(
                conn,
                runtime.worker_config,
                kind=TaskKind.PROFILE_ANALYSIS.value,
                params={"attempt_id": attempt_id},
                owner_user_id=principal.user_id,
                owner_student_id=student_id,
            )
            attempt = await quizzes.store_attempt(
                conn,
                {
                    "id": attempt_id,
                    "quiz_id": quiz["id"],
                    "student_id": student_id,
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
        await enqueue_task(info, task, ANALYZE_PROFILE)
        return QuizSubmission(
            attempt=QuizAttempt.from_row(attempt), profile_task=Task.from_row(task)
        )
