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


@strawberry.enum
class TaskKind(enum.Enum):
    QUIZ_GENERATION = task_rows.QUIZ_GENERATION
    PROFILE_ANALYSIS = task_rows.PROFILE_ANALYSIS
    MODEL_TRAINING = task_rows.MODEL_TRAINING


@strawberry.enum
class TaskStatus(enum.Enum):
    QUEUED = task_rows.QUEUED
    RUNNING = task_rows.RUNNING
    SUCCEEDED = task_rows.SUCCEEDED
    FAILED = task_rows.FAILED


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
        row = await loaders.score_model.load(self.result_id)
        return PredictionModel.from_row(row) if row else None


@strawberry.type
class TaskQuery:
    @strawberry.field
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        row = await info.context.loaders.task.load(id)  # only the owner's, or staff's
        return Task.from_row(row) if row is not None else None
