"""ingestMetrics: validate each record on its own, store the valid ones in one go.

Records reach the resolver as the mappings GraphQL holds (keyed by GraphQL names), never
as `MetricInput` objects: from a variable exactly as the client sent them, coerced by
their shape only; from an inline literal as graphql-core coerced them (see
learntwin_graphql.per_record). `ml.metrics.validate_batch` then checks every field of
every record with GraphQL's scalar rules (`GRAPHQL_FORM`), so a mistyped field costs only
its record, which comes back in `rejected` by index, as the REST route does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.fast_input import as_sent
from learntwin_graphql.argument_checks import validated_per_record
from learntwin_graphql.context import Info
from learntwin_graphql.services import ingest
from ml.metrics import GRAPHQL_FORM, RecordError


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
    lesson_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A lesson the record is about: gotIt or stuck is soft evidence (weight "
        "0.3) on each of the lesson's skills.",
    )
    skill_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A skill the record is about: gotIt or stuck is soft evidence (weight 0.3).",
    )


# One bad record is reported by its index and never costs its neighbours: each record is
# checked by the service, not coerced field by field by GraphQL, nor built as an object.
validated_per_record(MetricInput)
as_sent(MetricInput)


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
    async def ingest_metrics(
        self,
        info: Info,
        records: Annotated[
            list[Mapping[str, Any]], strawberry.argument(graphql_type=list[MetricInput])
        ],
    ) -> IngestPayload:
        result, errors = await ingest.ingest(
            info.context.runtime, info.context.principal, records, GRAPHQL_FORM
        )
        return IngestPayload(
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=[IngestError.from_error(e) for e in errors],
        )
