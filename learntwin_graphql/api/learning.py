"""Background tasks, quizzes, attempts and learner profiles."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from learntwin_graphql.api.score_model import PredictionModel
from learntwin_graphql.context import Info
from learntwin_graphql.errors import ApiError
from ml.quiz import ContentSource, Difficulty, QuestionType
from workers import tasks

DifficultyEnum = strawberry.enum(Difficulty, name="Difficulty")
QuestionTypeEnum = strawberry.enum(QuestionType, name="QuestionType")
ContentSourceEnum = strawberry.enum(ContentSource, name="ContentSource")


@strawberry.enum
class TaskKind(enum.Enum):
    QUIZ_GENERATION = "QUIZ_GENERATION"
    PROFILE_ANALYSIS = "PROFILE_ANALYSIS"
    MODEL_TRAINING = "MODEL_TRAINING"


@strawberry.enum
class TaskStatus(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(
    description="Correct answers are not part of a Question; they appear in GradedAnswer after submission."
)
class Question:
    id: strawberry.ID
    number: int
    text: str
    type: QuestionTypeEnum
    options: list[str]
    skill: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Question:
        return cls(
            id=row["id"],
            number=row["number"],
            text=row["text"],
            type=QuestionType(row["type"]),
            options=list(row["options"]),
            skill=row["skill"],
        )


@strawberry.type
class Quiz:
    id: strawberry.ID
    topic: str
    difficulty: DifficultyEnum
    source: ContentSourceEnum
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Quiz:
        return cls(
            id=row["id"],
            topic=row["topic"],
            difficulty=Difficulty(row["difficulty"]),
            source=ContentSource(row["source"]),
            created_at=row["created_at"],
        )

    @strawberry.field
    async def questions(self, info: Info) -> list[Question]:
        rows = await info.context.loaders.quiz_questions.load(self.id)
        return [Question.from_row(row) for row in rows]


@strawberry.type
class GradedAnswer:
    question: Question
    given: list[str]
    correct: bool
    expected: list[str]


@strawberry.type
class QuizAttempt:
    id: strawberry.ID
    student_id: strawberry.ID
    score: float = strawberry.field(description="0..100")
    correct_count: int
    total_count: int
    submitted_at: datetime
    quiz_id: strawberry.Private[str]
    graded: strawberry.Private[list[dict[str, Any]]]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> QuizAttempt:
        return cls(
            id=row["id"],
            student_id=row["student_id"],
            score=row["score"],
            correct_count=row["correct_count"],
            total_count=row["total_count"],
            submitted_at=row["submitted_at"],
            quiz_id=row["quiz_id"],
            graded=row["answers"],
        )

    @strawberry.field
    async def quiz(self, info: Info) -> Quiz:
        return Quiz.from_row(await info.context.loaders.quiz.load(self.quiz_id))

    @strawberry.field
    async def answers(self, info: Info) -> list[GradedAnswer]:
        rows = await info.context.loaders.quiz_questions.load(self.quiz_id)
        questions = {row["id"]: Question.from_row(row) for row in rows}
        return [
            GradedAnswer(
                question=questions[a["question_id"]],
                given=a["given"],
                correct=a["correct"],
                expected=a["expected"],
            )
            for a in self.graded
        ]


@strawberry.type
class Profile:
    id: strawberry.ID
    student_id: strawberry.ID
    level: int = strawberry.field(description="1..10")
    summary: str
    strengths: list[str]
    weaknesses: list[str]
    recommendations: list[str]
    learning_style: str | None
    source: ContentSourceEnum
    xp: int
    streak_days: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Profile:
        return cls(
            id=row["id"],
            student_id=row["student_id"],
            level=row["level"],
            summary=row["summary"],
            strengths=row["strengths"],
            weaknesses=row["weaknesses"],
            recommendations=row["recommendations"],
            learning_style=row["learning_style"],
            source=ContentSource(row["source"]),
            xp=row["xp"],
            streak_days=row["streak_days"],
            created_at=row["created_at"],
        )


TaskResult = Annotated[Quiz | Profile | PredictionModel, strawberry.union("TaskResult")]


@strawberry.type
class Task:
    id: strawberry.ID
    kind: TaskKind
    status: TaskStatus
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    input: JSON = strawberry.field(description="What the task was asked to do.")
    result_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Task:
        return cls(
            id=row["id"],
            kind=TaskKind(row["kind"]),
            status=TaskStatus(row["status"]),
            error=row["error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            input=row["params"],
            result_id=row["result_id"],
        )

    @strawberry.field
    async def result(self, info: Info) -> TaskResult | None:
        if self.status is not TaskStatus.SUCCEEDED or self.result_id is None:
            return None
        loaders = info.context.loaders
        if self.kind is TaskKind.QUIZ_GENERATION:
            row = await loaders.quiz.load(self.result_id)
            return Quiz.from_row(row) if row else None
        if self.kind is TaskKind.PROFILE_ANALYSIS:
            row = await loaders.profile.load(self.result_id)
            return Profile.from_row(row) if row else None
        row = await loaders.prediction_model.load(self.result_id)
        return PredictionModel.from_row(row) if row else None


@strawberry.type
class QuizSubmission:
    attempt: QuizAttempt
    profile_task: Task


async def enqueue_task(info: Info, task: dict[str, Any], job: str) -> None:
    """Queue a created task's job; a task that cannot be queued is already FAILED."""
    runtime = info.context.runtime
    try:
        await tasks.enqueue(runtime.engine, runtime.redis, task, job)
    except tasks.QueueUnavailable:
        raise ApiError(
            "Background work is unavailable right now; the task was not queued."
        ) from None
