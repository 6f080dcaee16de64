"""Score predictions, the active model, and the prediction cache."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.fast_input import fast_input
from learntwin_graphql.api.score_model import PredictionModel
from learntwin_graphql.api.tasks import Task
from learntwin_graphql.context import Info
from learntwin_graphql.services import predictions


@strawberry.input(description="One learner's features to predict a quiz score from.")
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


@strawberry.type(description="A predicted quiz score for one set of features.")
class Prediction:
    student_id: strawberry.ID | None = strawberry.field(
        description="The student it is stored on; null when none was given."
    )
    predicted_score: float = strawberry.field(description="The predicted score, 0..100.")
    persona: str | None = strawberry.field(
        description="A name for the group of learners these features resemble (one "
        "of 'Highly Engaged High Performer', 'Low Engagement Risk', 'Developing "
        "Performer', 'Consistent Learner'); null when the model has none."
    )
    model_version: str = strawberry.field(description="The PredictionModel version that made it.")
    cached: bool = strawberry.field(
        description="Served from the prediction cache (same features, same model)."
    )
    created_at: datetime = strawberry.field(description="When it was made (UTC).")

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


@strawberry.type(description="What predictScores returned.")
class PredictionBatch:
    predictions: list[Prediction] = strawberry.field(
        description="One prediction per input, in input order."
    )
    total_processed: int = strawberry.field(description="Inputs predicted.")
    cache_hits: int = strawberry.field(description="Of those, served from the cache.")
    processing_time_ms: float = strawberry.field(
        description="Time the batch took on the server, in milliseconds."
    )


@strawberry.type(description="The prediction cache's counters.")
class CacheStats:
    hits: int = strawberry.field(description="Predictions served from the cache.")
    misses: int = strawberry.field(description="Predictions that had to be computed.")
    hit_rate: float = strawberry.field(
        description="hits / (hits + misses), 0..1; 0 before any prediction."
    )
    keys: int = strawberry.field(description="Predictions held in the cache now.")


@strawberry.type
class PredictionQuery:
    @strawberry.field(description="The active score model; null before one is trained.")
    async def prediction_model(self, info: Info) -> PredictionModel | None:
        model = await predictions.active_model(info.context.runtime, info.context.principal)
        return PredictionModel.from_row(model.metadata()) if model is not None else None

    @strawberry.field(description="ADMIN. The prediction cache's counters.")
    async def cache_stats(self, info: Info) -> CacheStats:
        stats = await predictions.cache_stats(info.context.runtime, info.context.principal)
        return CacheStats(
            hits=stats.hits, misses=stats.misses, hit_rate=stats.hit_rate, keys=stats.keys
        )


@strawberry.type
class PredictionMutation:
    @strawberry.mutation(
        description="Predicted quiz scores with the active model, at most "
        "LEARNTWIN_MAX_PREDICT_BATCH (100) inputs per call; those with a studentId are "
        "stored on the student (a LEARNER may name only its own)."
    )
    async def predict_scores(
        self,
        info: Info,
        students: Annotated[
            list[StudentFeaturesInput],
            strawberry.argument(description="The features, one entry per prediction."),
        ],
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
