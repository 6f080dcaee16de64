"""ingestMetrics' records coerced once: by their shape in the variable, then each record by
`validate_batch` with GraphQL's scalar rules (learntwin_graphql.per_record).

A mistyped, null or missing field is that record's `rejected` entry; a value that is not
a list of objects, or a record naming an unknown field, is still graphql-core's variable
error; inline literals keep graphql-core's coercion. The mechanism itself is also checked
on a small schema of its own, beside Strawberry's own execution context.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
import strawberry
from sqlalchemy import func, select
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.tables import metrics
from learntwin_graphql.api.fast_input import as_sent
from learntwin_graphql.argument_checks import validated_per_record
from learntwin_graphql.config import Settings
from learntwin_graphql.execution import LearnTwinExecutionContext
from learntwin_graphql.per_record import install
from learntwin_graphql.schema import build_schema
from ml.metrics import GRAPHQL_FORM, validate_batch
from tests.conftest import ADMIN_KEY, error_codes
from tests.test_analytics import INGEST, ingest, record


async def stored(runtime) -> int:
    async with runtime.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(metrics))


# --- through the served schema -----------------------------------------------------------


async def test_a_mistyped_field_costs_only_its_record(gql, runtime):
    """Each of these was a variable error refusing the whole request before; now each is
    its record's `rejected` entry, named as the client spelled it, and the rest is stored."""
    records = [record(student_id="s0")]
    bad = [
        ("stuck", "yes", "stuck must be true or false"),
        ("gotIt", 1, "gotIt must be true or false"),
        ("confidence", "7", "confidence must be a number"),
        ("classId", True, "classId must be a string"),
        ("studentId", 4.5, "studentId must be a string"),
        ("eventId", 5, "eventId must be a string"),
        ("example", None, "example is required"),
        ("timestamp", 5, "timestamp must be an ISO-8601 date-time"),
        ("timestamp", {"at": "now"}, "timestamp must be an ISO-8601 date-time"),
        ("classId", ["c1"], "classId must be a string"),
    ]
    for field, value, _ in bad:
        records.append({**record(student_id="s-bad"), field: value})
    missing = record(student_id="s-bad")
    del missing["pause"]
    records += [missing, record(student_id="s1")]
    result = await ingest(gql, records)
    assert "errors" not in result, result
    assert result["accepted"] == 2
    expected = [(i + 1, f, m) for i, (f, _, m) in enumerate(bad)]
    expected.append((len(bad) + 1, "pause", "pause is required"))
    assert [(e["index"], e["field"], e["message"]) for e in result["rejected"]] == expected
    assert await stored(runtime) == 2


async def test_graphql_values_graphql_accepts_are_stored(gql, runtime):
    """What graphql-core's coercion accepted is still accepted: integer ids and integral
    floats as ids, integers for a Float, a timestamp with an offset, a null eventId."""
    records = [
        {**record(), "classId": 12, "studentId": 7.0, "confidence": 8},
        {**record(), "timestamp": "2026-01-05T10:00:00+02:00", "eventId": None},
    ]
    result = await ingest(gql, records)
    assert (result["accepted"], result["rejected"]) == (2, [])
    page = await gql('{ class(id: "12") { students(first: 5) { edges { node { id } } } } }')
    assert page["data"]["class"]["students"]["edges"] == [{"node": {"id": "7"}}]


async def test_one_object_is_a_list_of_one(gql, runtime):
    body = await gql(INGEST, {"records": record()})
    assert body["data"]["ingestMetrics"]["accepted"] == 1


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ([record(), 5], "at [1]: Expected value of type 'MetricInput' to be an object"),
        ([None], "at [0]: Expected value of non-null type 'MetricInput!' not to be None"),
        (
            "c1",
            "Expected value of type 'MetricInput' to be an object",
        ),  # neither a list nor an object
        (None, "Expected value of non-null type '[MetricInput!]!' not to be None"),
    ],
)
async def test_a_value_without_the_declared_shape_is_a_variable_error(gql, runtime, value, where):
    body = await gql(INGEST, {"records": value})
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["message"].startswith("Variable '$records'")
    assert where in body["errors"][0]["message"]
    assert await stored(runtime) == 0


async def test_an_unknown_field_is_refused_as_graphql_refuses_it(gql, runtime):
    body = await gql(INGEST, {"records": [record(), {**record(), "stuk": True}]})
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "stuk" in body["errors"][0]["message"]
    assert await stored(runtime) == 0


async def test_inline_literals_keep_graphql_cores_coercion(gql, runtime):
    literal = """mutation { ingestMetrics(records: [
      {classId: "c1", studentId: "s1", stuck: false, gotIt: true, pause: false,
       example: true, confidence: 8, timestamp: "2026-01-05T08:00:00Z", eventId: "e1"}
      {classId: "c1", studentId: "s2", stuck: true, gotIt: false, pause: false,
       example: false, confidence: 12, timestamp: "now"}
      {classId: "c1", studentId: "s3", stuck: true, gotIt: false, pause: false,
       example: false, confidence: 3}
    ]) { accepted duplicates rejected { index field message } } }"""
    payload = (await gql(literal))["data"]["ingestMetrics"]
    assert payload["accepted"] == 2  # the third record's timestamp is the time of ingest
    assert [(e["index"], e["field"]) for e in payload["rejected"]] == [(1, "confidence")]
    # A literal of the wrong type is refused by validation, before anything runs.
    wrong = literal.replace("stuck: true", 'stuck: "yes"', 1)
    assert error_codes(await gql(wrong)) == ["BAD_USER_INPUT"]
    assert await stored(runtime) == 2


async def test_rest_and_graphql_refuse_the_same_records(gql, client):
    records = [record(), {**record(), "confidence": 0}, {**record(), "studentId": "s\x00"}]
    records.append({**record(), "timestamp": "1969-12-31T23:59:59Z"})
    graphql = (await gql(INGEST, {"records": records}))["data"]["ingestMetrics"]
    rest_records = [
        {"class_id": r["classId"], "student_id": r["studentId"], "got_it": r["gotIt"]}
        | {k: v for k, v in r.items() if k not in ("classId", "studentId", "gotIt")}
        for r in records
    ]
    response = await client.post(
        "/ingest/json", json=rest_records, headers={"X-API-Key": ADMIN_KEY}
    )
    rest = response.json()
    assert [e["index"] for e in rest["errors"]] == [e["index"] for e in graphql["rejected"]]
    assert [e["index"] for e in graphql["rejected"]] == [1, 2, 3]


def test_metric_input_is_passed_on_as_sent() -> None:
    definition = build_schema(Settings.model_construct()).get_type_by_name("MetricInput")
    value = {"classId": "c1", "stuck": "yes"}
    assert definition.from_input(definition.origin, value, None) is value


def test_ingest_metrics_gets_a_resolver_without_strawberrys_conversion() -> None:
    schema = build_schema(Settings.model_construct())._schema
    field = schema.mutation_type.fields["ingestMetrics"]
    assert field.resolve.__name__ == "_async_resolver"  # Strawberry's, until installed
    assert install(schema) == 1
    assert install(schema) == 0  # once per schema
    assert field.resolve.__name__ == "resolve"


# --- the mechanism on a schema of its own ------------------------------------------------


@strawberry.input
class ProbeRecordInput:
    name: str
    at: datetime | None = None
    n: int = 0


validated_per_record(ProbeRecordInput)
as_sent(ProbeRecordInput)
SEEN: list[Any] = []


class Everyone(BasePermission):
    message = "never refused"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


Records = Annotated[
    list[Mapping[str, Any]], strawberry.argument(graphql_type=list[ProbeRecordInput])
]


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def direct(self, info: strawberry.Info, records: Records, label: str = "x") -> str:
        SEEN.append((records, label, info.field_name))
        return "ok"

    @strawberry.field(permission_classes=[Everyone])
    def guarded(self, records: Records) -> str:
        SEEN.append((records, None, None))
        return "ok"


def probe_schema(context: type) -> strawberry.Schema:
    return strawberry.Schema(query=ProbeQuery, execution_context_class=context)


DIRECT = "query($r: [ProbeRecordInput!]!, $l: String) { direct(records: $r, label: $l) }"


async def test_records_as_sent_beside_strawberrys_own_coercion() -> None:
    ours, theirs = (
        probe_schema(LearnTwinExecutionContext),
        probe_schema(StrawberryGraphQLCoreExecutionContext),
    )
    sent = [{"name": 5}, {"name": "b", "at": "yesterday"}]
    SEEN.clear()
    result = await ours.execute(DIRECT, variable_values={"r": sent, "l": "y"})
    assert result.errors is None and SEEN == [(sent, "y", "direct")]
    assert SEEN[0][0][0] is sent[0]  # the very dicts the client sent
    assert ours._schema.query_type.fields["direct"].resolve.__name__ == "resolve"
    # graphql-core's own coercion refuses the whole request for the one bad field.
    result = await theirs.execute(DIRECT, variable_values={"r": sent})
    assert result.errors and "String cannot represent" in result.errors[0].message
    # A value without the declared shape: the same error from both.
    for shape in ([{"name": "a", "nme": "b"}], [3], "a", None):
        mine = await ours.execute(DIRECT, variable_values={"r": shape})
        base = await theirs.execute(DIRECT, variable_values={"r": shape})
        assert [e.message for e in mine.errors] == [e.message for e in base.errors], shape


async def test_literals_and_guarded_fields_take_strawberrys_path_with_mappings() -> None:
    schema = probe_schema(LearnTwinExecutionContext)
    SEEN.clear()
    literal = '{ direct(records: [{name: "a", at: "2026-01-01T00:00:00Z"}]) }'
    assert (await schema.execute(literal)).errors is None
    assert SEEN[0][0] == [{"name": "a", "at": datetime(2026, 1, 1, tzinfo=UTC), "n": 0}]
    guarded = "query($r: [ProbeRecordInput!]!) { guarded(records: $r) }"
    assert (await schema.execute(guarded, variable_values={"r": [{"name": 1}]})).errors is None
    assert SEEN[1][0] == [{"name": 1}]
    assert schema._schema.query_type.fields["guarded"].resolve.__name__ != "resolve"


def test_graphql_form_holds_records_to_graphqls_scalar_rules() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    good = {"classId": "c", "studentId": 3, "stuck": False, "gotIt": True, "pause": False}
    good |= {"example": True, "confidence": 10**400}
    valid, errors = validate_batch([good, {**good, "confidence": 2}], now, form=GRAPHQL_FORM)
    assert [(e.index, e.field, e.message) for e in errors] == [
        (0, "confidence", "confidence must be between 1 and 10")
    ]
    assert valid[0].student_id == "3" and valid[0].ts == now
    _, errors = validate_batch([{**good, "confidence": 2, "stuck": 0}], now, form=GRAPHQL_FORM)
    assert errors[0].message == "stuck must be true or false"
    # The seed's REST JSON keeps its looser flags and numeric event ids.
    rest = {"class_id": "c", "student_id": "s", "stuck": 0, "got_it": 1, "pause": 0}
    valid, errors = validate_batch([rest | {"example": 1, "confidence": 2, "event_id": 7}], now)
    assert errors == [] and valid[0].event_id == "7" and valid[0].got_it is True
