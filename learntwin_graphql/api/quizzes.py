"""Quizzes: questions (without their answers), attempts graded on submission, and the
quiz queries and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.context import Info
from learntwin_graphql.services import quizzes
from ml.quiz import ContentSource, Difficulty, QuestionType

if TYPE_CHECKING:  # tasks.py imports this module (a Quiz is a task's result): lazy here
    from learntwin_graphql.api.tasks import Task

TaskType = Annotated["Task", strawberry.lazy("learntwin_graphql.api.tasks")]

DifficultyEnum = strawberry.enum(Difficulty, name="Difficulty")
QuestionTypeEnum = strawberry.enum(QuestionType, name="QuestionType")
ContentSourceEnum = strawberry.enum(ContentSource, name="ContentSource")


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
class QuizSubmission:
    attempt: QuizAttempt
    profile_task: TaskType


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


@strawberry.type
class QuizQuery:
    @strawberry.field
    async def quiz(self, info: Info, id: strawberry.ID) -> Quiz | None:
        row = await info.context.loaders.quiz.load(id)
        return Quiz.from_row(row) if row else None


@strawberry.type
class QuizMutation:
    @strawberry.mutation
    async def generate_quiz(self, info: Info, input: GenerateQuizInput) -> TaskType:
        from learntwin_graphql.api.tasks import Task

        task = await quizzes.generate(
            info.context.runtime,
            info.context.principal,
            input.topic,
            input.question_count,
            Difficulty(input.difficulty),
            input.student_id,
        )
        return Task.from_row(task)

    @strawberry.mutation
    async def submit_quiz(self, info: Info, input: SubmitQuizInput) -> QuizSubmission:
        from learntwin_graphql.api.tasks import Task

        done = await quizzes.submit(
            info.context.runtime,
            info.context.principal,
            input.quiz_id,
            input.student_id,
            [(answer.question_id, answer.values) for answer in input.answers],
        )
        return QuizSubmission(
            attempt=QuizAttempt.from_row(done.attempt),
            profile_task=Task.from_row(done.profile_task),
        )
