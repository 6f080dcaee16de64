"""Score predictions: batches through the Redis cache, stored when they name a student;
the active model, its training task, and the cache's statistics."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from redis.exceptions import RedisError

from db import predictions as stored
from db import tasks as task_rows
from learntwin_graphql import permissions, prediction_cache
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import ApiError, BadUserInput
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import tasks
from learntwin_graphql.services.inputs import clean_id
from ml.scoring import FEATURES, ScoreModel
from workers import queueing
from workers.jobs import TRAIN_MODEL

# (GraphQL name, Python name, maximum) of each feature, in FEATURES order; minimum 0.
LIMITS = (
    ("comprehension", "comprehension", 100.0),
    ("attention", "attention", 100.0),
    ("focus", "focus", 100.0),
    ("retention", "retention", 100.0),
    ("engagementTime", "engagement_time", 300.0),
)
assert tuple(attribute for _, attribute, _ in LIMITS) == FEATURES
_FEATURES_OF = operator.attrgetter(*(attribute for _, attribute, _ in LIMITS))
_TOPS = np.array([top for _, _, top in LIMITS])


@dataclass(frozen=True)
class Batch:
    predictions: list[dict[str, Any]]  # as stored: student_id, predicted_score, persona, …
    cache_hits: int
    processing_ms: float


def checked_rows(students: Sequence[Any], maximum: int) -> np.ndarray:
    """The features of objects carrying them as attributes, as a students x 5 matrix
    (FEATURES order), or BAD_USER_INPUT naming every index and field out of range."""
    if not 1 <= len(students) <= maximum:
        raise BadUserInput(f"Send 1..{maximum} students.", field="students")
    rows = np.array([_FEATURES_OF(student) for student in students], dtype=np.float64)
    # NaN fails every comparison and an infinity one of the two: both are refused too.
    bad = ~((rows >= 0) & (rows <= _TOPS))
    if bad.any():
        problems = [
            {
                "index": int(index),
                "field": LIMITS[column][0],
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


async def active_model(runtime: Runtime, principal: Principal) -> ScoreModel | None:
    permissions.require_authenticated(principal)
    return await runtime.models.current()


async def predict(runtime: Runtime, principal: Principal, students: Sequence[Any]) -> Batch:
    """Scores for 1..max students (objects with the feature attributes and `student_id`);
    a LEARNER predicts only for the linked student. Those naming a student are stored."""
    permissions.require_authenticated(principal)
    rows = checked_rows(students, runtime.settings.max_predict_batch)
    student_ids = [clean_id(s.student_id, "studentId") for s in students]
    if not permissions.is_staff(principal):
        for student_id in student_ids:
            permissions.require_student(principal, student_id or "")
    model = await runtime.models.current()
    if model is None:
        raise ApiError("No score model is available yet.")
    batch = await prediction_cache.predict_batch(
        runtime.redis, model, rows, runtime.settings.prediction_cache_ttl
    )
    now = datetime.now(UTC)
    made = [
        {
            "id": str(uuid.uuid4()),
            "student_id": student_id,
            "model_version": model.version,
            "features": row.tolist(),
            "predicted_score": p.score,
            "persona": p.persona,
            "cached": p.cached,
            "created_at": now,
        }
        for student_id, row, p in zip(student_ids, rows, batch.predictions, strict=True)
    ]
    await stored.store(runtime.engine, [m for m in made if m["student_id"] is not None])
    return Batch(made, batch.cache_hits, round(batch.processing_ms, 3))


async def train(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """A MODEL_TRAINING task (ADMIN), queued."""
    permissions.require_admin(principal)
    async with runtime.engine.begin() as conn:
        task = await queueing.create(
            conn,
            runtime.worker_config,
            kind=task_rows.MODEL_TRAINING,
            params={},
            owner_user_id=principal.user_id,
            owner_student_id=None,
        )
    await tasks.enqueue(runtime, task, TRAIN_MODEL)
    return task


async def cache_stats(runtime: Runtime, principal: Principal) -> prediction_cache.CacheStats:
    permissions.require_admin(principal)
    try:
        return await prediction_cache.cache_stats(runtime.redis)
    except RedisError:
        raise ApiError("The prediction cache is unavailable right now.") from None


async def clear_cache(runtime: Runtime, principal: Principal) -> int:
    permissions.require_admin(principal)
    try:
        return await prediction_cache.clear_cache(runtime.redis)
    except RedisError:
        raise ApiError("The prediction cache is unavailable right now.") from None
