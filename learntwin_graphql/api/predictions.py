"""Score predictions, the active model, and the prediction cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from learntwin_graphql.api.fast_input import fast_input
from learntwin_graphql.api.score_model import PredictionModel
from learntwin_graphql.api.tasks import Task
from learntwin_graphql.context import Info
from learntwin_graphql.services import predictions


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


@strawberry.type
class PredictionQuery:
    @strawberry.field
    async def prediction_model(self, info: Info) -> PredictionModel | None:
        model = await predictions.active_model(info.context.runtime, info.context.principal)
        return PredictionModel.from_row(model.metadata()) if model is not None else None

    @strawberry.field
    async def cache_stats(self, info: Info) -> CacheStats:
        stats = await predictions.cache_stats(info.context.runtime, info.context.principal)
        return CacheStats(
            hits=stats.hits, misses=stats.misses, hit_rate=stats.hit_rate, keys=stats.keys
        )


@strawberry.type
class PredictionMutation:
    @strawberry.mutation
    async def predict_scores(
        self, info: Info, students: list[StudentFeaturesInput]
    ) -> PredictionBatch:
        batch = await predictions.predict(info.context.runtime, info.context.principal, students)
        return PredictionBatch(
            predictions=[Prediction.from_row(row) for row in batch.predictions],
            total_processed=len(batch.predictions),
            cache_hits=batch.cache_hits,
            processing_time_ms=batch.processing_ms,
        )

    @strawberry.mutation(
        description="ADMIN. Trains a new model in the background and activates it."
    )
    async def train_prediction_model(self, info: Info) -> Task:
        return Task.from_row(await predictions.train(info.context.runtime, info.context.principal))

    @strawberry.mutation(
        description="ADMIN. Empties the prediction cache; returns the keys removed."
    )
    async def clear_prediction_cache(self, info: Info) -> int:
        return await predictions.clear_cache(info.context.runtime, info.context.principal)
