"""Ingest of metric records: validate each, store the valid ones in one transaction with
their rollups, then tell subscribers which classes changed.

Both routes hand records over as their clients wrote them (the REST route straight from
its JSON body, `ingestMetrics` without coercing each field first) and say how they are
written (`RecordForm`); `ml.metrics.validate_batch` is the one place that checks them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db import ingest as records
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import learner_model
from ml.metrics import REST_FORM, RecordError, RecordForm, validate_batch
from workers import plan_queue
from workers.events import publish
from workers.keys import class_channel


class BatchTooLarge(BadUserInput):
    """More records than one call may carry; nothing was stored."""

    http_status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"At most {limit} records per call; nothing was stored.", field="records")
        self.limit = limit


async def ingest(
    runtime: Runtime,
    principal: Principal,
    raws: Sequence[Any],
    form: RecordForm = REST_FORM,
) -> tuple[records.IngestResult, list[RecordError]]:
    """Store the valid records (ADMIN, INSTRUCTOR); the others come back by index, with
    fields named as `form` spells them (the client's spelling)."""
    permissions.require_staff(principal)
    limit = runtime.settings.max_ingest_batch
    if len(raws) > limit:
        raise BatchTooLarge(limit)
    valid, errors = validate_batch(raws, form=form)
    about = [r for r in valid if r.skill_id is not None or r.lesson_id is not None]
    learners: list[str] = []

    async def evidence(conn: AsyncConnection, stored: frozenset[str]) -> None:
        fresh = [r for r in about if r.event_id is None or r.event_id in stored]
        learners.extend(await learner_model.apply_metrics(conn, fresh))

    result = await records.ingest(runtime.engine, valid, evidence if about else None)
    # After the commit: subscribers re-read from Postgres, the source of truth.
    await publish(runtime.redis, [class_channel(c) for c in result.class_ids])
    await learner_model.announce(runtime, learners)
    # Pauses and stuck reports move BREAK and struggling-topic advice: a recompute.
    checked_in = {r.student_id for r in valid if r.pause or r.stuck} - set(learners)
    await plan_queue.mark(runtime.redis, sorted(checked_in), "MASTERY_CHANGED")
    return result, errors
