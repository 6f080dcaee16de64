"""The plain-field shortcut answers exactly what graphql-core's own path answers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from enum import Enum
from types import GeneratorType
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from learntwin_graphql.config import Settings
from learntwin_graphql.execution import LearnTwinExecutionContext, class_decides, plain_field
from learntwin_graphql.schema import build_schema


@strawberry.enum
class Level(Enum):
    LOW = "low"
    HIGH = "high"


class Never(BasePermission):
    message = "no"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Item:
    name: str
    score: float | None
    level: Level
    count: int
    secret: str | None = strawberry.field(default="hidden", permission_classes=[Never])

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def scaled(self, factor: int = 2) -> int:
        return self.count * factor


def _items() -> list[Item]:
    return [
        Item(name="a", score=1.5, level=Level.LOW, count=1),
        Item(name="b", score=None, level=Level.HIGH, count=2),
    ]


BROKEN: dict[str, list[Item]] = {
    # a null for a non-null field, a value Int refuses, a value the enum does not know
    "null": [Item(name=None, score=1.0, level=Level.LOW, count=1)],  # type: ignore[arg-type]
    "int": [Item(name="x", score=1.0, level=Level.LOW, count=2**40)],
    "enum": [Item(name="x", score=1.0, level="nope", count=1)],  # type: ignore[arg-type]
    "float": [Item(name="x", score="many", level=Level.LOW, count=1)],  # type: ignore[arg-type]
}


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def broken(self, kind: str) -> list[Item]:
        return BROKEN[kind]

    @strawberry.field
    async def later(self) -> list[Item]:
        return _items()

    @strawberry.field
    def gaps(self) -> list[Item | None]:
        return [_items()[0], None, _items()[1]]

    @strawberry.field
    def one_bad(self) -> list[Item | None]:
        return [*_items(), *BROKEN["null"], *_items()]

    @strawberry.field
    def as_tuple(self) -> list[Item]:
        return tuple(_items())  # type: ignore[return-value]


class SeesEveryField(SchemaExtension):
    seen: list[str] = []

    def resolve(self, _next, root, info, *args: Any, **kwargs: Any):
        SeesEveryField.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


def schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (
        strawberry.Schema(Query, **options),
        strawberry.Schema(Query, execution_context_class=LearnTwinExecutionContext, **options),
    )


QUERIES = [
    "{ items { name score level count } }",
    "{ items { __typename n: name name s: score } later { count __typename } }",
    "{ items { ...F } } fragment F on Item { name level }",
    "query($x: Boolean!) { items { name @include(if: $x) count @skip(if: $x) } }",
    "{ items { name shout scaled(factor: 3) } }",
    "{ items { name secret } }",
    '{ broken(kind: "null") { name count } }',
    '{ broken(kind: "int") { name count } }',
    '{ broken(kind: "enum") { level } }',
    '{ broken(kind: "float") { score } }',
    "{ gaps { name __typename } oneBad { name count } asTuple { level } }",
    "{ oneBad { n: name name } gaps { shout } }",
]


def _answer(result: Any) -> tuple[Any, Any]:
    errors = [
        (e.message, e.path, [(loc.line, loc.column) for loc in e.locations or []])
        for e in result.errors or []
    ]
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
async def test_same_answer_as_graphql_core(query):
    reference, fast = schemas()
    for variables in ({"x": True}, {"x": False}):
        expected = _answer(await reference.execute(query, variable_values=variables))
        assert _answer(await fast.execute(query, variable_values=variables)) == expected


async def test_errors_keep_their_path():
    _, fast = schemas()
    result = await fast.execute('{ broken(kind: "null") { name count } }')
    assert result.data is None  # the null bubbles up through [Item!]! to the root
    assert result.errors[0].path == ["broken", 0, "name"]
    assert "Cannot return null for non-nullable field Item.name" in result.errors[0].message
    result = await fast.execute("{ oneBad { name } }")
    assert result.data == {"oneBad": [{"name": "a"}, {"name": "b"}, None, *_items_as("a", "b")]}
    assert [error.path for error in result.errors] == [["oneBad", 2, "name"]]


def _items_as(*names: str) -> list[dict[str, str]]:
    return [{"name": name} for name in names]


async def test_a_resolving_extension_still_sees_every_field():
    _, fast = schemas(extensions=[SeesEveryField])
    SeesEveryField.seen = []
    result = await fast.execute("{ items { name count } }")
    assert result.errors is None
    assert SeesEveryField.seen.count("name") == 2 and SeesEveryField.seen.count("count") == 2


def test_only_attribute_reads_are_plain():
    _, fast = schemas()
    item = fast._schema.type_map["Item"]
    assert {name for name, field in item.fields.items() if plain_field(field)} == {
        "name",
        "score",
        "level",
        "count",
    }
    assert plain_field(item.fields["score"]).non_null is False
    assert plain_field(item.fields["name"]).non_null is True


def test_the_class_decides_only_when_every_instance_answers_alike():
    class Lookup:
        def __getattr__(self, name: str) -> Any:
            raise AttributeError(name)

    class Disguised:
        __class__ = property(lambda self: int)  # type: ignore[assignment]

    for kind in (Item, Level, datetime, Decimal, ValueError, asyncio.Future):
        assert class_decides(kind), kind
    for kind in (Lookup, Disguised, GeneratorType):
        assert not class_decides(kind), kind


@strawberry.type
class Shifty:
    """Its instances tell is_awaitable different things, so each one is asked."""

    name: str
    awaitable: strawberry.Private[bool] = False

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "__await__" and self.awaitable:
            return lambda: iter(())
        raise AttributeError(attribute)


@strawberry.type
class ShiftyQuery:
    @strawberry.field
    def shifty(self) -> list[Shifty | None]:
        return [Shifty(name="a"), Shifty(name="b", awaitable=True)]


@pytest.mark.parametrize("query", ["{ shifty { __typename } }", "{ shifty { name } }"])
async def test_instances_the_class_does_not_decide_are_each_checked(query):
    reference, fast = (
        strawberry.Schema(ShiftyQuery),
        strawberry.Schema(ShiftyQuery, execution_context_class=LearnTwinExecutionContext),
    )
    expected = _answer(await reference.execute(query))
    assert expected[1], "graphql-core should refuse to await the second item"
    assert _answer(await fast.execute(query)) == expected


class CountingContext(LearnTwinExecutionContext):
    """Counts the fields graphql-core resolves itself."""

    resolved: list[str] = []

    def build_resolve_info(self, field_def: Any, field_nodes: Any, *args: Any) -> Any:
        CountingContext.resolved.append(field_nodes[0].name.value)
        return super().build_resolve_info(field_def, field_nodes, *args)


async def test_ordinary_values_take_the_shortcut():
    # Without this the differential tests would pass on a shortcut that never runs.
    fast = strawberry.Schema(Query, execution_context_class=CountingContext)
    CountingContext.resolved = []
    result = await fast.execute("{ items { __typename name score level count } later { name } }")
    assert result.errors is None
    assert CountingContext.resolved == ["items", "later"]


def test_the_setting_chooses_the_execution_context(monkeypatch):
    on = build_schema(Settings.model_construct())
    off = build_schema(Settings.model_construct(plain_field_shortcut=False))
    # Batched fields are another mechanism and stay on either way.
    assert issubclass(on.execution_context_class, LearnTwinExecutionContext)
    assert not issubclass(off.execution_context_class, LearnTwinExecutionContext)
    assert issubclass(off.execution_context_class, StrawberryGraphQLCoreExecutionContext)
    monkeypatch.setenv("LEARNTWIN_PLAIN_FIELD_SHORTCUT", "false")
    assert Settings().plain_field_shortcut is False
