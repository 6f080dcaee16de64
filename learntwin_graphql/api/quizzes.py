"""Quizzes: questions (without their answers), attempts graded on submission, and the
quiz queries and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from learntwin_graphql.api.docs import describe_values
from learntwin_graphql.context import Info
from learntwin_graphql.services import quizzes
from ml.quiz import ContentSource, Difficulty, QuestionType

if TYPE_CHECKING:  # tasks.py imports this module (a Quiz is a task's result): lazy here
    from learntwin_graphql.api.tasks import Task

TaskType = Annotated["Task", strawberry.lazy("learntwin_graphql.api.tasks")]

DifficultyEnum = describe_values(
    strawberry.enum(Difficulty, name="Difficulty", description="How hard a quiz is."),
    BEGINNER="For learners new to the topic.",
    INTERMEDIATE="For learners who know the basics.",
    ADVANCED="For learners at ease with the topic.",
)
QuestionTypeEnum = describe_values(
    strawberry.enum(QuestionType, name="QuestionType", description="How a question is answered."),
    MULTIPLE_CHOICE="Pick one of `options`.",
    TRUE_FALSE="Pick `True` or `False` (the two `options`).",
    OPEN="Free text, one value.",
    LIST="Several values, in any order.",
)
ContentSourceEnum = describe_values(
    strawberry.enum(ContentSource, name="ContentSource", description="Who wrote a text."),
    LLM="The language model.",
    FALLBACK="The built-in deterministic writer, used when no model answered.",
)


@strawberry.type(
    description="Correct answers are not part of a Question; they appear in GradedAnswer after submission."
)
class Question:
    id: strawberry.ID = strawberry.field(description="Server-made id; answer it by this id.")
    number: int = strawberry.field(description="Its place in the quiz, from 1.")
    text: str = strawberry.field(description="The question as shown to the learner.")
    type: QuestionTypeEnum = strawberry.field(description="How it is answered.")
    options: list[str] = strawberry.field(
        description="The choices for MULTIPLE_CHOICE and TRUE_FALSE; empty for OPEN and LIST."
    )
    skill: str | None = strawberry.field(
        description="The skill or subtopic it tests, in words; null when not named."
    )

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


@strawberry.type(description="A generated quiz (the result of a QUIZ_GENERATION task).")
class Quiz:
    id: strawberry.ID = strawberry.field(description="Server-made id of the quiz.")
    topic: str = strawberry.field(description="The topic it was generated for, as given.")
    difficulty: DifficultyEnum = strawberry.field(description="How hard it is.")
    source: ContentSourceEnum = strawberry.field(description="Who wrote the questions.")
    created_at: datetime = strawberry.field(description="When it was stored (UTC).")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Quiz:
        return cls(
            id=row["id"],
            topic=row["topic"],
            difficulty=Difficulty(row["difficulty"]),
            source=ContentSource(row["source"]),
            created_at=row["created_at"],
        )

    @strawberry.field(description="Its questions in order, without their answers.")
    async def questions(self, info: Info) -> list[Question]:
        rows = await info.context.loaders.quiz_questions.load(self.id)
        return [Question.from_row(row) for row in rows]


@strawberry.type(description="One question of a submitted attempt, graded.")
class GradedAnswer:
    question: Question = strawberry.field(description="The question.")
    given: list[str] = strawberry.field(
        description="The learner's values as submitted; empty when it was not answered."
    )
    correct: bool = strawberry.field(description="Whether the answer was right.")
    expected: list[str] = strawberry.field(description="The right values.")


@strawberry.type(description="A learner's graded submission of a quiz.")
class QuizAttempt:
    id: strawberry.ID = strawberry.field(description="Server-made id of the attempt.")
    student_id: strawberry.ID = strawberry.field(description="The learner who submitted it.")
    score: float = strawberry.field(description="0..100")
    correct_count: int = strawberry.field(description="Questions answered right.")
    total_count: int = strawberry.field(description="Questions in the quiz.")
    submitted_at: datetime = strawberry.field(description="When it was submitted (UTC).")
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

    @strawberry.field(description="The quiz answered.")
    async def quiz(self, info: Info) -> Quiz:
        return Quiz.from_row(await info.context.loaders.quiz.load(self.quiz_id))

    @strawberry.field(description="Every question graded, in the quiz's order.")
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


@strawberry.type(description="What submitQuiz stored.")
class QuizSubmission:
    attempt: QuizAttempt = strawberry.field(description="The graded attempt.")
    profile_task: TaskType = strawberry.field(
        description="The PROFILE_ANALYSIS task that turns the attempt into a Profile."
    )


@strawberry.input(description="A quiz to generate in the background.")
class GenerateQuizInput:
    topic: str = strawberry.field(description="What the quiz is about, 1..200 characters.")
    question_count: int = strawberry.field(default=5, description="How many questions, 1..20.")
    difficulty: DifficultyEnum = strawberry.field(
        default=Difficulty.INTERMEDIATE, description="How hard it should be."
    )
    student_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The learner it is for; a LEARNER may name only its own student, "
        "which is also what it gets when it gives none.",
    )


@strawberry.input(description="A learner's answer to one question.")
class AnswerInput:
    question_id: strawberry.ID = strawberry.field(description="The question answered.")
    values: list[str] = strawberry.field(
        description="One value for MULTIPLE_CHOICE, TRUE_FALSE and OPEN; several for LIST."
    )


@strawberry.input(description="A learner's answers to a quiz, to grade.")
class SubmitQuizInput:
    quiz_id: strawberry.ID = strawberry.field(description="The quiz answered.")
    student_id: strawberry.ID = strawberry.field(
        description="The learner answering (a LEARNER: its own student)."
    )
    answers: list[AnswerInput] = strawberry.field(
        description="At most one per question; questions left out count as wrong."
    )


@strawberry.type
class QuizQuery:
    @strawberry.field(description="A quiz by id; null when there is none.")
    async def quiz(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The quiz's id.")],
    ) -> Quiz | None:
        row = await info.context.loaders.quiz.load(id)
        return Quiz.from_row(row) if row else None


@strawberry.type
class QuizMutation:
    @strawberry.mutation(
        description="Queues a QUIZ_GENERATION task; follow it with `task` until its result, a Quiz."
    )
    async def generate_quiz(
        self,
        info: Info,
        input: Annotated[GenerateQuizInput, strawberry.argument(description="The quiz to make.")],
    ) -> TaskType:
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

    @strawberry.mutation(
        description="Grades the answers at once, stores the attempt and queues the "
        "learner's profile analysis."
    )
    async def submit_quiz(
        self,
        info: Info,
        input: Annotated[SubmitQuizInput, strawberry.argument(description="The answers.")],
    ) -> QuizSubmission:
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
