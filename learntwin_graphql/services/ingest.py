"""Ingest of metric records: validate each, store the valid ones in one transaction with
their rollups, then tell subscribers which classes changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db import ingest as records
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.runtime import Runtime
from ml.metrics import RecordError, validate_batch
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
    labels: Mapping[str, str] | None = None,
) -> tuple[records.IngestResult, list[RecordError]]:
    """Store the valid records (ADMIN, INSTRUCTOR); the others come back by index, with
    fields named by `labels` (the client's spelling)."""
    permissions.require_staff(principal)
    limit = runtime.settings.max_ingest_batch
    if len(raws) > limit:
        raise BatchTooLarge(limit)
    valid, errors = validate_batch(raws, labels=labels)
    result = await records.ingest(runtime.engine, valid)
    # After the commit: subscribers re-read from Postgres, the source of truth.
    await publish(runtime.redis, [class_channel(c) for c in result.class_ids])
    return result, errors
