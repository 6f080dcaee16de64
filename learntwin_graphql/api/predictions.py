"""Score predictions, the active model, and the prediction cache."""

from __future__ import annotations

import operator
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import strawberry
from redis.exceptions import RedisError

from db import predictions as stored
from learntwin_graphql import prediction_cache
from learntwin_graphql.api.fast_input import fast_input
from learntwin_graphql.api.identity import clean_id
from learntwin_graphql.api.learning import Task, TaskKind
from learntwin_graphql.api.score_model import PredictionModel
from learntwin_graphql.auth import Role
from learntwin_graphql.context import Info
from learntwin_graphql.errors import ApiError, BadUserInput
from ml.scoring import FEATURES
from workers import tasks
from workers.jobs import TRAIN_MODEL

# (GraphQL name, Python name, maximum); every feature's minimum is 0.
_LIMITS = (
    ("comprehension", "comprehension", 100.0),
    ("attention", "attention", 100.0),
    ("focus", "focus", 100.0),
    ("retention", "retention", 100.0),
    ("engagementTime", "engagement_time", 300.0),
)


@strawberry.input
class StudentFeaturesInput:
    student_id: strawberry.ID | None = strawberry.field(
        default=None, description="When given, the prediction is stored on the student."
    )
    comprehension: float = strawberry.field(description="0..100")
    attention: float = strawberry.field(description="0..100")
    focus: float = strawberry.field(description="0..100")
    retention: float = strawberry.field(description="0..100")
    engagement_time: float = strawberry.field(description="Minutes, 0..300")


fast_input(StudentFeaturesInput)


@strawberry.type
class Prediction:
    student_id: strawberry.ID | None
    predicted_score: float
    persona: str | None
    model_version: str
    cached: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Prediction:
        return cls(
            student_id=row["student_id"],
            predicted_score=row["predicted_score"],
            persona=row["persona"],
            model_version=row["model_version"],
            cached=row["cached"],
            created_at=row["created_at"],
        )


@strawberry.type
class PredictionBatch:
    predictions: list[Prediction]
    total_processed: int
    cache_hits: int
    processing_time_ms: float


@strawberry.type
class CacheStats:
    hits: int
    misses: int
    hit_rate: float
    keys: int


_FEATURES_OF = operator.attrgetter(*(attribute for _, attribute, _ in _LIMITS))
_TOPS = np.array([top for _, _, top in _LIMITS])
assert tuple(attribute for _, attribute, _ in _LIMITS) == FEATURES


def _checked_rows(students: list[StudentFeaturesInput], maximum: int) -> np.ndarray:
    """The features as a students x 5 matrix (FEATURES order), or BAD_USER_INPUT naming
    every index and field out of range."""
    if not 1 <= len(students) <= maximum:
        raise BadUserInput(f"Send 1..{maximum} students.", field="students")
    rows = np.array([_FEATURES_OF(student) for student in students], dtype=np.float64)
    # NaN fails every comparison and an infinity one of the two: both are refused too.
    bad = ~((rows >= 0) & (rows <= _TOPS))
    if bad.any():
        problems = [
            {
                "index": int(index),
                "field": _LIMITS[column][0],
                "message": f"must be 0..{_TOPS[column]:g}",
            }
            for index, column in zip(*np.nonzero(bad), strict=True)
        ]
        first = problems[0]
        raise BadUserInput(
            f"students[{first['index']}].{first['field']} {first['message']}.",
            field=f"students.{first['index']}.{first['field']}",
            invalid=problems,
        )
    return rows


@strawberry.type
class PredictionQuery:
    @strawberry.field
    async def prediction_model(self, info: Info) -> PredictionModel | None:
        info.context.require()
        model = await info.context.runtime.models.current()
        if model is None:
            return None
        return PredictionModel.from_row(model.metadata())

    @strawberry.field
    async def cache_stats(self, info: Info) -> CacheStats:
        info.context.require(Role.ADMIN)
        try:
            stats = await prediction_cache.cache_stats(info.context.runtime.redis)
        except RedisError:
            raise ApiError("The prediction cache is unavailable right now.") from None
        return CacheStats(
            hits=stats.hits, misses=stats.misses, hit_rate=stats.hit_rate, keys=stats.keys
        )


@strawberry.type
class PredictionMutation:
    @strawberry.mutation
    async def predict_scores(
        self, info: Info, students: list[StudentFeaturesInput]
    ) -> PredictionBatch:
        principal = info.context.require()
        runtime = info.context.runtime
        rows = _checked_rows(students, runtime.settings.max_predict_batch)
        student_ids = [clean_id(s.student_id, "studentId") for s in students]
        if not principal.is_staff:
            for student_id in student_ids:
                info.context.loaders.check_student(student_id or "")
        model = await runtime.models.current()
        if model is None:
            raise ApiError("No score model is available yet.")
        batch = await prediction_cache.predict_batch(
            runtime.redis, model, rows, runtime.settings.prediction_cache_ttl
        )
        now = datetime.now(UTC)
        version = model.version
        predictions = [
            Prediction(
                student_id=student_id,
                predicted_score=p.score,
                persona=p.persona,
                model_version=version,
                cached=p.cached,
                created_at=now,
            )
            for student_id, p in zip(student_ids, batch.predictions, strict=True)
        ]
        await stored.store(
            runtime.engine,
            [
                {
                    "id": str(uuid.uuid4()),
                    "student_id": student_id,
                    "model_version": version,
                    "features": row.tolist(),
                    "predicted_score": p.score,
                    "persona": p.persona,
                    "cached": p.cached,
                    "created_at": now,
                }
                for student_id, row, p in zip(student_ids, rows, batch.predictions, strict=True)
                if student_id is not None
            ],
        )
        return PredictionBatch(
            predictions=predictions,
            total_processed=len(predictions),
            cache_hits=batch.cache_hits,
            processing_time_ms=round(batch.processing_ms, 3),
        )

    @strawberry.mutation(
        description="ADMIN. Trains a new model in the background and activates it."
    )
    async def train_prediction_model(self, info: Info) -> Task:
        principal = info.context.require(Role.ADMIN)
        runtime = info.context.runtime
        async with runtime.engine.begin() as conn:
            task = await tasks.create(
                conn,
                runtime.worker_config,
                kind=TaskKind.MODEL_TRAINING.value,
                params={},
                owner_user_id=principal.user_id,
                owner_student_id=None,
            )
        try:
            await tasks.enqueue(runtime.engine, runtime.redis, task, TRAIN_MODEL)
        except tasks.QueueUnavailable:
            raise ApiError(
                "Background work is unavailable right now; the task was not queued."
            ) from None
        return Task.from_row(task)

    @strawberry.mutation(
        description="ADMIN. Empties the prediction cache; returns the keys removed."
    )
    async def clear_prediction_cache(self, info: Info) -> int:
        info.context.require(Role.ADMIN)
        try:
            return await prediction_cache.clear_cache(info.context.runtime.redis)
        except RedisError:
            raise ApiError("The prediction cache is unavailable right now.") from None
