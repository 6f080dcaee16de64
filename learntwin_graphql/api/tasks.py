"""Background tasks: their state, their result once done, and the `task` query."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from db import tasks as task_rows
from learntwin_graphql.api.profiles import Profile
from learntwin_graphql.api.quizzes import Quiz
from learntwin_graphql.api.score_model import PredictionModel
from learntwin_graphql.context import Info


@strawberry.enum(description="What a background task does.")
class TaskKind(enum.Enum):
    QUIZ_GENERATION = strawberry.enum_value(
        task_rows.QUIZ_GENERATION, description="Writes a quiz (generateQuiz); result: Quiz."
    )
    PROFILE_ANALYSIS = strawberry.enum_value(
        task_rows.PROFILE_ANALYSIS,
        description="Analyses a submitted quiz attempt (submitQuiz); result: Profile.",
    )
    MODEL_TRAINING = strawberry.enum_value(
        task_rows.MODEL_TRAINING,
        description="Trains the score model (trainPredictionModel); result: PredictionModel.",
    )


@strawberry.enum(
    description="Where a background task is: QUEUED, then RUNNING, then SUCCEEDED or FAILED."
)
class TaskStatus(enum.Enum):
    QUEUED = strawberry.enum_value(task_rows.QUEUED, description="Waiting for a worker.")
    RUNNING = strawberry.enum_value(task_rows.RUNNING, description="A worker is on it.")
    SUCCEEDED = strawberry.enum_value(
        task_rows.SUCCEEDED, description="Done: `result` holds what it made. Final."
    )
    FAILED = strawberry.enum_value(
        task_rows.FAILED, description="Gave up: `error` says why; `result` is null. Final."
    )


TaskResult = Annotated[
    Quiz | Profile | PredictionModel,
    strawberry.union(
        "TaskResult",
        description="What a finished task made: a Quiz (QUIZ_GENERATION), a Profile "
        "(PROFILE_ANALYSIS) or a PredictionModel (MODEL_TRAINING).",
    ),
]


def camel_keys(value: Any) -> Any:
    """`value` with every object key, at any depth, in camelCase like the rest of the
    schema (`student_id` -> `studentId`); lists are walked, other values kept as they are."""
    if isinstance(value, dict):
        return {_camel(str(key)): camel_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [camel_keys(item) for item in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    if not rest:
        return name
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@strawberry.type(
    description="Work done in the background (quiz generation, profile analysis, model "
    "training): poll `task(id)` or follow the `task` subscription until SUCCEEDED or FAILED."
)
class Task:
    id: strawberry.ID = strawberry.field(
        description="The task's id, for `task` and the subscription."
    )
    kind: TaskKind = strawberry.field(description="What the task does; says the result's type.")
    status: TaskStatus = strawberry.field(description="Where the task is now.")
    error: str | None = strawberry.field(
        description="FAILED only: why, readable by people; null otherwise."
    )
    created_at: datetime = strawberry.field(description="When the task was queued (UTC).")
    finished_at: datetime | None = strawberry.field(
        description="When it SUCCEEDED or FAILED (UTC); null while QUEUED or RUNNING."
    )
    input: JSON = strawberry.field(
        description="What the task was asked to do: a JSON object whose keys are camelCase "
        "at every depth, e.g. `{topic, count, difficulty, studentId}` for QUIZ_GENERATION."
    )
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
            input=camel_keys(row["params"]),
            result_id=row["result_id"],
        )

    @strawberry.field(
        description="What the task made, once SUCCEEDED; null before, after FAILED, or when "
        "it has since been removed."
    )
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
        row = await loaders.score_model.load(self.result_id)
        return PredictionModel.from_row(row) if row else None


@strawberry.type
class TaskQuery:
    @strawberry.field(
        description="A background task by id; null when there is none or it is not the "
        "caller's (learners see their own, staff every task)."
    )
    async def task(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The task's id.")],
    ) -> Task | None:
        row = await info.context.loaders.task.load(id)  # only the owner's, or staff's
        return Task.from_row(row) if row is not None else None
