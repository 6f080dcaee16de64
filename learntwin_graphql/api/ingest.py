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


@strawberry.input(description="One engagement record: a student's check-in during a class.")
class MetricInput:
    class_id: strawberry.ID = strawberry.field(
        description="The class it was taken in, 1..1000 characters; a new id makes a class."
    )
    student_id: strawberry.ID = strawberry.field(
        description="The student it is about, 1..1000 characters; a new id makes a student."
    )
    stuck: bool = strawberry.field(description="The student says they are stuck.")
    got_it: bool = strawberry.field(description="The student says they understood.")
    pause: bool = strawberry.field(description="The student asks for a pause.")
    example: bool = strawberry.field(description="The student asks for an example.")
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


@strawberry.type(description="Why one record of an ingestMetrics call was not stored.")
class IngestError:
    index: int = strawberry.field(description="Position of the record in the request.")
    field: str | None = strawberry.field(
        description="The record's field at fault, by its GraphQL name (e.g. `confidence`); "
        "null when the record as a whole is wrong."
    )
    message: str = strawberry.field(
        description="What is wrong, in English (e.g. 'must be between 1 and 10')."
    )

    @classmethod
    def from_error(cls, error: RecordError) -> IngestError:
        return cls(index=error.index, field=error.field, message=error.message)


@strawberry.type(
    description="What ingestMetrics did with each record: accepted + duplicates + rejected "
    "count every record sent."
)
class IngestPayload:
    accepted: int = strawberry.field(description="Records stored by this call.")
    duplicates: int = strawberry.field(
        description="Records not stored again because their eventId already was."
    )
    rejected: list[IngestError] = strawberry.field(
        description="Invalid records, in request order; the valid ones are stored anyway."
    )


@strawberry.type
class IngestMutation:
    @strawberry.mutation(description="ADMIN or INSTRUCTOR. At most 10,000 records per call.")
    async def ingest_metrics(
        self,
        info: Info,
        records: Annotated[
            list[Mapping[str, Any]],
            strawberry.argument(
                graphql_type=list[MetricInput],
                description="The records; each is checked on its own.",
            ),
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
