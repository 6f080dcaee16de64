"""fast_input builds exactly what Strawberry's own conversion builds, or refuses the input.

Each input here exists twice, once with fast_input and once without, and the objects a
query builds from the same values must be equal; the real schema's inputs are compared
with Strawberry's conversion of the same value through the real schema's config.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.relay import GlobalID
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import convert_argument

from learntwin_graphql.api.fast_input import fast_input
from learntwin_graphql.schema import schema as real_schema

GOT: list[Any] = []


@strawberry.enum
class Mood(enum.Enum):
    CALM = "calm"
    BUSY = "busy"


def record_type(name: str) -> type:
    """A flat input: scalars, an enum, an explicit GraphQL name, lists of scalars."""

    @strawberry.input(name=name)
    class Record:
        student_id: strawberry.ID
        got_it: bool
        confidence: float
        mood: Mood = Mood.CALM
        seen_at: datetime | None = strawberry.field(default=None, name="when")
        event_id: str | None = None
        skill_tags: list[str] = strawberry.field(default_factory=lambda: ["default"])
        score_grid: list[list[int | None] | None] | None = None
        nickname: str | None

    return Record


Fast = fast_input(record_type("Record"))
Slow = record_type("Record")


def schema_for(record: type, **config: Any) -> strawberry.Schema:
    def ingest(records: Any) -> int:
        for item in records:
            GOT.append(vars(item).copy())
            item.skill_tags.append("changed")  # must not leak into the next request
        return len(records)

    # Set by hand: a string annotation could not name the local `record`.
    ingest.__annotations__ = {"records": list[record], "return": int}  # type: ignore[valid-type]

    @strawberry.type
    class Query:
        ok: bool = True

    mutation = strawberry.type(type("Mutation", (), {"ingest": strawberry.mutation(ingest)}))
    return strawberry.Schema(Query, mutation, config=StrawberryConfig(**config))


def names(camel: bool) -> dict[str, str]:
    def name(python: str) -> str:
        head, *rest = python.split("_")
        return head + "".join(part.title() for part in rest) if camel else python

    return {
        key: name(key)
        for key in ("student_id", "got_it", "event_id", "skill_tags", "score_grid", "nickname")
    }


async def built(schema: strawberry.Schema, camel: bool) -> list[dict[str, Any]]:
    n = names(camel)
    records = [
        f'{{ {n["student_id"]}: "s1", {n["got_it"]}: true, confidence: 7 }}',
        f"{{ {n['student_id']}: 2, {n['got_it']}: false, confidence: 1.5, mood: BUSY, "
        f'when: "2024-05-06T07:08:09+00:00", {n["event_id"]}: "e", '
        f'{n["skill_tags"]}: ["a", "b"], {n["score_grid"]}: [[1, null], null], '
        f'{n["nickname"]}: "kim" }}',
        f'{{ {n["student_id"]}: "s3", {n["got_it"]}: true, confidence: 2, '
        f"{n['event_id']}: null, when: null }}",
    ]
    GOT.clear()
    for _ in range(2):  # the second request sees the default list unchanged
        result = await schema.execute(f"mutation {{ ingest(records: [{', '.join(records)}]) }}")
        assert result.errors is None, result.errors
    return list(GOT)


@pytest.mark.parametrize("camel", [True, False])
async def test_same_objects_as_strawberrys_conversion(camel: bool) -> None:
    expected = await built(schema_for(Slow, auto_camel_case=camel), camel)
    got = await built(schema_for(Fast, auto_camel_case=camel), camel)
    assert got == expected
    assert got[0]["skill_tags"] == ["default", "changed"] == got[3]["skill_tags"]
    assert got[0]["nickname"] is None and got[1]["mood"] is Mood.BUSY
    assert got[1]["seen_at"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


async def test_one_input_serves_schemas_with_different_name_converters() -> None:
    camel, snake = schema_for(Fast), schema_for(Fast, auto_camel_case=False)
    for _ in range(2):
        assert (await built(camel, True))[1]["event_id"] == "e"
        assert (await built(snake, False))[1]["event_id"] == "e"


# MetricInput is passed on as sent instead (api.fast_input.as_sent; tests/test_ingest_graphql.py).
@pytest.mark.parametrize("name", ["StudentFeaturesInput"])
def test_real_inputs_build_what_strawberry_builds(name: str, monkeypatch) -> None:
    definition = real_schema.get_type_by_name(name)
    assert definition.from_input is not None, f"{name} no longer uses fast_input"
    graphql_type = real_schema._schema.type_map[name]
    value = {
        graphql_name: _sample(str(field.type))
        for graphql_name, field in graphql_type.fields.items()  # type: ignore[union-attr]
    }
    registry = real_schema.schema_converter.scalar_registry

    def convert() -> Any:
        return convert_argument(value, definition.origin, registry, real_schema.config)

    fast = convert()
    monkeypatch.setattr(definition, "from_input", None)
    assert fast == convert()


def _sample(graphql_type: str) -> Any:
    samples = {"ID": "x1", "Boolean": True, "Float": 2.5, "String": "s", "Int": 3}
    base = graphql_type.rstrip("!")
    if base == "DateTime":
        return datetime(2024, 1, 2, tzinfo=UTC)
    return samples[base]


@strawberry.input
class Inner:
    x: int


def test_refuses_what_renaming_would_build_wrongly() -> None:
    @strawberry.input
    class Nested:
        inner: Inner

    @strawberry.input
    class NestedList:
        inners: list[Inner | None] | None = None

    @strawberry.input
    class WithMaybe:
        x: strawberry.Maybe[int]

    @strawberry.input
    class WithGlobalId:
        node: GlobalID

    @strawberry.input
    class WithLazy:
        # a name this module lacks, so Strawberry keeps it lazy (and never imports it here)
        inner: Annotated["Cell", strawberry.lazy("tests.test_execution_differential")]  # noqa: F821, UP037

    @strawberry.input
    class Later:
        inner: NotDefinedYet  # type: ignore[name-defined]  # noqa: F821

    @strawberry.type
    class Output:
        x: int

    cases = {
        Nested: "nested input object",
        NestedList: "list of input objects",
        WithMaybe: "Maybe",
        WithGlobalId: "GlobalID",
        WithLazy: "lazy",
        Later: "not known yet",
        Output: "needs a Strawberry input",
        int: "needs a Strawberry input",
    }
    for cls, why in cases.items():
        with pytest.raises(TypeError, match=why):
            fast_input(cls)
