"""ingestMetrics: validate each record on its own, store the valid ones in one go."""

from __future__ import annotations

from datetime import datetime

import strawberry

from learntwin_graphql.api.fast_input import fast_input
from learntwin_graphql.argument_checks import validated_per_record
from learntwin_graphql.context import Info
from learntwin_graphql.services import ingest
from ml.metrics import GRAPHQL_LABELS, RecordError


@strawberry.input
class MetricInput:
    class_id: strawberry.ID
    student_id: strawberry.ID
    stuck: bool
    got_it: bool
    pause: bool
    example: bool
    confidence: float = strawberry.field(description="1..10")
    timestamp: datetime | None = strawberry.field(
        default=None, description="Defaults to the time of ingest."
    )
    event_id: str | None = strawberry.field(
        default=None,
        description="Client-chosen id; a record whose eventId is already stored is counted "
        "as a duplicate, not stored twice.",
    )


fast_input(MetricInput)
# One bad record is reported by its index and never costs its neighbours.
validated_per_record(MetricInput)


@strawberry.type
class IngestError:
    index: int = strawberry.field(description="Position of the record in the request.")
    field: str | None
    message: str

    @classmethod
    def from_error(cls, error: RecordError) -> IngestError:
        return cls(index=error.index, field=error.field, message=error.message)


@strawberry.type
class IngestPayload:
    accepted: int
    duplicates: int
    rejected: list[IngestError]


@strawberry.type
class IngestMutation:
    @strawberry.mutation(description="ADMIN or INSTRUCTOR. At most 10,000 records per call.")
    async def ingest_metrics(self, info: Info, records: list[MetricInput]) -> IngestPayload:
        result, errors = await ingest.ingest(
            info.context.runtime,
            info.context.principal,
            [vars(record) for record in records],
            GRAPHQL_LABELS,
        )
        return IngestPayload(
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=[IngestError.from_error(e) for e in errors],
        )
