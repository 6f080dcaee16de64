"""Every construct a schema can hold, answered alike with and without the shortcut.

The shortcut in `learntwin_graphql.execution` only pays if it never changes an answer, so
each query here runs twice, on Strawberry's own execution context (plain graphql-core)
and on ours, and the data, the error messages, their paths and their locations must be
the same. The test schema is self-contained where the real one lacks a construct
(interfaces, lists of lists, awaitables and exceptions as list items); the union is the
real `TaskResult` over the real types, with the project's scalars. The real types are
found by their GraphQL names in the real schema, so the test follows them when a module
moves.
"""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import pytest
import strawberry
from graphql.pyutils import Undefined
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from learntwin_graphql.api.scalars import SCALAR_MAP
from learntwin_graphql.execution import LearnTwinExecutionContext
from learntwin_graphql.schema import schema as real_schema

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@strawberry.enum
class Level(Enum):
    LOW = "low"
    HIGH = "high"


class OwnError(Exception):
    """An exception class of ours: String and ID would coerce it with str()."""


class Label:
    """A value of our own that String coerces with str(), as graphql-core allows."""

    def __str__(self) -> str:
        return "label"


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Row(Node):
    name: str
    score: float | None
    level: Level
    at: datetime
    data: JSON
    note: str | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def boom(self) -> str:
        raise ValueError(f"boom {self.id}")

    @strawberry.field
    def maybe_boom(self) -> str | None:
        raise ValueError(f"maybe {self.id}")


@strawberry.type
class Cell:
    """No interface, so lists of cells take the shortcut for whole lists."""

    x: int
    label: str | None = None
    level: Level = Level.LOW
    at: datetime | None = None
    data: JSON | None = None


@strawberry.type
class Other(Node):
    size: int


Thing = Annotated[Cell | Other, strawberry.union("Thing")]


def row(n: int, **changes: Any) -> Row:
    values: dict[str, Any] = {
        "id": strawberry.ID(str(n)),
        "name": f"r{n}",
        "score": n / 2 if n % 2 else None,
        "level": Level.HIGH if n % 2 else Level.LOW,
        "at": WHEN,
        "data": {"n": n, "tags": ["a", None]},
    }
    return Row(**{**values, **changes})


def cells() -> list[Cell]:
    return [Cell(x=1, label="a", at=WHEN, data=[1]), Cell(x=2, level=Level.HIGH)]


async def later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


async def failing(message: str) -> Any:
    await asyncio.sleep(0)
    raise ValueError(message)


def resolved(value: Any) -> asyncio.Future[Any]:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


# Cell values graphql-core refuses or completes in its own way; each list is served fresh.
ODD_CELLS: dict[str, Any] = {
    "coroutine": lambda: [Cell(x=1), later(Cell(x=2))],
    "failing": lambda: [Cell(x=1), failing("late")],
    "awaitsNone": lambda: [Cell(x=1), later(None)],
    "exception": lambda: [Cell(x=1), ValueError("returned")],
    "ownException": lambda: [OwnError("ours"), Cell(x=1)],
    "undefined": lambda: [Cell(x=1), Undefined],
    "hole": lambda: [Cell(x=1), None],
    "future": lambda: [resolved(Cell(x=3)), Cell(x=4)],
    "valueCoroutine": lambda: [Cell(x=1, label=later("soon"))],  # type: ignore[arg-type]
    "valueFuture": lambda: [Cell(x=1, label=resolved("ready"))],  # type: ignore[arg-type]
    "valueException": lambda: [Cell(x=1, label=OwnError("text"))],  # type: ignore[arg-type]
    "jsonException": lambda: [Cell(x=1, data=ValueError("json"))],
    "datetimeCoroutine": lambda: [Cell(x=1, at=later(WHEN))],  # type: ignore[arg-type]
    "valueUndefined": lambda: [Cell(x=1, label=Undefined)],  # type: ignore[arg-type]
    "ownStr": lambda: [Cell(x=1, label=Label())],  # type: ignore[arg-type]
    "badEnum": lambda: [Cell(x=1, level="nope")],  # type: ignore[arg-type]
    "badInt": lambda: [Cell(x=2**40)],
}


@strawberry.type
class Holder:
    """Objects and lists of objects read off attributes: planned with their parent."""

    cell: Cell
    maybe: Cell | None
    cells: list[Cell]
    holes: list[Cell | None]
    row: Row | None = None
    inner: Holder | None = None


def holder(kind: str | None, depth: int = 1) -> Holder:
    """A holder whose every nested position holds the odd values of `kind` (each position
    made fresh, so no awaitable is shared), or ordinary cells without a kind."""

    def odd() -> list[Any]:
        return ODD_CELLS[kind]() if kind else cells()

    return Holder(
        cell=odd()[-1],
        maybe=odd()[0],
        cells=odd(),
        holes=[None, *odd()],
        row=row(depth),
        inner=holder(kind, depth - 1) if depth else None,
    )


@strawberry.type
class Query:
    @strawberry.field
    def holders(self, kind: str | None = None) -> list[Holder]:
        return [holder(None), holder(kind)]

    @strawberry.field
    def holder(self, kind: str | None = None) -> Holder:
        return holder(kind)

    @strawberry.field
    def rows(self) -> list[Row]:
        return [row(1), row(2)]

    @strawberry.field
    def row(self) -> Row:
        return row(3)

    @strawberry.field
    def nameless(self) -> list[Row | None]:
        return [row(1), row(2, name=None)]

    @strawberry.field
    def nameless_strict(self) -> list[Row]:
        return [row(1), row(2, name=None)]

    @strawberry.field
    def nodes(self) -> list[Node]:
        return [row(1), Other(id=strawberry.ID("o"), size=3)]

    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [Cell(x=1), Other(id=strawberry.ID("o"), size=3), ValueError("thing")]

    @strawberry.field
    def cells(self) -> list[Cell]:
        return cells()

    @strawberry.field
    def grid(self) -> list[list[Cell]]:
        return [cells(), [], cells()[:1]]

    @strawberry.field
    def ragged(self) -> list[list[Cell | None] | None]:
        return [[Cell(x=1), None], None, [ValueError("cell"), Cell(x=2)]]

    @strawberry.field
    def strict_grid(self) -> list[list[Cell]]:
        return [cells(), [Cell(x=1), None]]  # type: ignore[list-item]

    @strawberry.field
    def odd(self, kind: str) -> list[Cell | None]:
        return ODD_CELLS[kind]()

    @strawberry.field
    def odd_strict(self, kind: str) -> list[Cell]:
        return ODD_CELLS[kind]()

    @strawberry.field
    async def waited(self) -> list[Cell]:
        return [later(cell) for cell in cells()]  # type: ignore[misc]


CONSTRUCTS = [
    # plain fields, aliases, __typename, custom scalars, enums
    "{ rows { id name score level at data note } }",
    "{ rows { __typename a: name b: name s: score l: level } row { name __typename } }",
    "{ cells { x label level at data } waited { x __typename } }",
    # fragments: named, inline, nested, on interfaces and unions
    "{ rows { ...R } } fragment R on Row { name ...S } fragment S on Row { level at }",
    "{ nodes { __typename id ... on Row { name data } ... on Other { size } } }",
    "{ nodes { ...N } } fragment N on Node { id ... on Row { ... on Node { id } score } }",
    "{ things { __typename ... on Cell { x label } ... on Other { id size } } }",
    "{ things { __typename } }",
    # @include / @skip, on fields and on fragments
    "query($x: Boolean!) { rows { name @include(if: $x) score @skip(if: $x) } }",
    "query($x: Boolean!) { cells { ... on Cell @skip(if: $x) { x } label } }",
    "query($x: Boolean!) { cells { ...C @include(if: $x) __typename } } fragment C on Cell { x }",
    # resolvers and their errors beside plain fields
    "{ rows { name shout } row { shout name } }",
    "{ rows { name boom } }",
    "{ rows { name maybeBoom } row { maybeBoom id } }",
    # nulls: a non-null field, items of nullable and non-null lists
    "{ nameless { id name } }",
    "{ namelessStrict { id name } }",
    "{ nameless { __typename id } namelessStrict { __typename } }",
    # lists of lists
    "{ grid { x level } ragged { x __typename } }",
    "{ strictGrid { x } }",
    "{ strictGrid { __typename } grid { __typename } }",
]


def _odd(kind: str, selection: str) -> list[str]:
    return [
        f'{{ odd(kind: "{kind}") {{ {selection} }} }}',
        f'{{ oddStrict(kind: "{kind}") {{ {selection} }} }}',
    ]


# awaitables, returned exceptions and other odd values, as list items and as values,
# selected with __typename alone, with plain fields, and with both
ODD = [
    query
    for kind in ODD_CELLS
    for selection in ("__typename", "x label level at data", "t: __typename x")
    for query in _odd(kind, selection)
]


# Nested objects and lists of them (plain or odd), below a list and below one object.
NESTED = [
    f"{{ {field}{arguments} {{ {selection} }} }}"
    for field in ("holders", "holder")
    for arguments in ["", *(f'(kind: "{kind}")' for kind in ODD_CELLS)]
    for selection in (
        "cell { x label } maybe { x level } cells { x at } holes { __typename x }",
        "inner { cell { x } inner { holes { x } } } row { id name }",
        "row { name shout } cell { x }",
        "__typename cells { __typename }",
    )
]


def schemas(query: type = Query, **options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (
        strawberry.Schema(query, **options),
        strawberry.Schema(query, execution_context_class=LearnTwinExecutionContext, **options),
    )


def answer(result: Any) -> tuple[Any, Any]:
    errors = [
        (e.message, e.path, [(loc.line, loc.column) for loc in e.locations or []])
        for e in result.errors or []
    ]
    return result.data, errors


async def run(schema: strawberry.Schema, query: str, variables: dict[str, Any]) -> Any:
    """The answer, and how many coroutines were dropped without being awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = answer(await schema.execute(query, variable_values=variables))
    return result, sum("never awaited" in str(w.message) for w in caught)


async def assert_same(reference: strawberry.Schema, fast: strawberry.Schema, query: str) -> None:
    # An awaitable item the shortcut skipped would never be awaited: the count of those
    # must match too (a coroutine in a field nobody selects is dropped by both).
    for variables in ({"x": True}, {"x": False}):
        assert await run(fast, query, variables) == await run(reference, query, variables), query


@pytest.mark.parametrize("query", CONSTRUCTS + ODD + NESTED)
async def test_same_answer_as_graphql_core(query: str) -> None:
    await assert_same(*schemas(), query)


def real(name: str) -> Any:
    """The Python class behind a GraphQL type (or enum) of the real schema."""
    definition = real_schema.get_type_by_name(name)
    return getattr(definition, "wrapped_cls", None) or definition.origin  # type: ignore[union-attr]


Quiz, Profile, PredictionModel, Task = map(real, ("Quiz", "Profile", "PredictionModel", "Task"))
Difficulty, ContentSource, TaskKind, TaskStatus = map(
    real, ("Difficulty", "ContentSource", "TaskKind", "TaskStatus")
)
_members = tuple(member for member in real_schema.get_type_by_name("TaskResult").types)  # type: ignore[union-attr]
assert set(_members) == {Quiz, Profile, PredictionModel}
TaskResult = Annotated[_members[0] | _members[1] | _members[2], strawberry.union("TaskResult")]


def quiz() -> Any:
    return Quiz(
        id=strawberry.ID("q1"),
        topic="fractions",
        difficulty=Difficulty.BEGINNER,
        source=ContentSource.FALLBACK,
        created_at=WHEN,
    )


def model() -> Any:
    return PredictionModel(
        version="v1",
        algorithm="linear",
        trained_at=WHEN,
        training_rows=10,
        r2=0.5,
        mae=3.0,
        features=["focus"],
    )


def task(result_id: str | None = None) -> Any:
    return Task(
        id=strawberry.ID("t1"),
        kind=TaskKind.MODEL_TRAINING,
        status=TaskStatus.QUEUED,
        error=None,
        created_at=WHEN,
        finished_at=None,
        input={"topic": "fractions", "count": [1, 2]},
        result_id=result_id,
    )


@strawberry.type
class RealQuery:
    """Real types of the schema (the TaskResult union, DateTime, JSON, enums)."""

    @strawberry.field
    def results(self) -> list[TaskResult | None]:
        return [quiz(), model(), None, later(quiz()), ValueError("no result")]  # type: ignore[list-item]

    @strawberry.field
    def strict_results(self) -> list[TaskResult]:
        return [model(), later(None)]  # type: ignore[list-item]

    @strawberry.field
    def tasks(self) -> list[Task]:  # type: ignore[valid-type]
        return [task(), task("r1")]

    @strawberry.field
    def awaited_tasks(self) -> list[Task | None]:
        return [later(task()), failing("task"), task()]  # type: ignore[list-item]


REAL = [
    "{ tasks { id kind status error createdAt finishedAt input } }",
    "{ tasks { __typename id ...T } } fragment T on Task { kind input }",
    "{ awaitedTasks { __typename } }",
    "{ awaitedTasks { id status createdAt } }",
    """{ results { __typename
        ... on Quiz { id topic difficulty source createdAt }
        ... on PredictionModel { version trainedAt r2 features }
        ... on Profile { id } } }""",
    "{ results { __typename } strictResults { __typename } }",
    "{ strictResults { ... on PredictionModel { version } } }",
    "{ results { ...Q } } fragment Q on Quiz { t: topic createdAt }",
]


@pytest.mark.parametrize("query", REAL)
async def test_real_types_same_answer_as_graphql_core(query: str) -> None:
    config = StrawberryConfig(scalar_map=SCALAR_MAP)
    await assert_same(*schemas(RealQuery, config=config, types=[Profile]), query)
