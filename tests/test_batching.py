"""Batched fields: a list's field resolved once for all its items, with the answer of
the ordinary per-item resolvers, errors included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import strawberry
from sqlalchemy import event
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from learntwin_graphql.batching import BatchedFields, batched
from learntwin_graphql.execution import LearnTwinExecutionContext
from tests.test_analytics import ingest, record

CALLS: list[tuple[str, int]] = []  # (batch or single, how many sources)


async def _details(info: Any, items: Sequence[Item], times: int = 1) -> list[Any]:
    CALLS.append(("batch" if len(items) > 1 else "single", len(items)))
    if times < 0:
        raise ValueError("`times` must not be negative")  # an argument the batch refuses
    return [
        PermissionError(f"item {i.n} is hidden") if i.n == 3 else Detail(value=i.n * times)
        for i in items
    ]


async def _children(info: Any, items: Sequence[Item]) -> list[Any]:
    CALLS.append(("children", len(items)))
    return [[Item(n=10 * i.n + k) for k in range(2)] for i in items]


@strawberry.type
class Detail:
    value: int


@strawberry.type
class Item:
    n: int

    @strawberry.field
    @batched(_details)
    async def detail(self, info: strawberry.Info, times: int = 1) -> Detail | None:
        value = (await _details(info, [self], times))[0]
        if isinstance(value, Exception):
            raise value
        return value

    @strawberry.field
    @batched(_children)
    async def children(self, info: strawberry.Info) -> list[Item]:
        return (await _children(info, [self]))[0]


@strawberry.type
class Edge:
    node: Item


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(n=n) for n in range(1, 6)]

    @strawberry.field
    def edges(self) -> list[Edge]:
        return [Edge(node=Item(n=n)) for n in range(1, 6)]


class Batched(BatchedFields, LearnTwinExecutionContext):
    pass


QUERIES = [
    "{ items { n detail { value } } }",
    "{ items { n a: detail(times: 2) { value } b: detail(times: 3) { value } } }",
    "{ edges { node { n detail { value } } } }",
    "{ items { children { n detail { value } children { n } } } }",
    "{ items { ... on Item { detail { value } } } }",
    "{ items { detail(times: -1) { value } } }",
    "query($t: Int!) { items { detail(times: $t) { value } } }",
]


def _answer(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
async def test_the_same_answer_as_one_resolver_per_item(query):
    reference = strawberry.Schema(
        Query, execution_context_class=StrawberryGraphQLCoreExecutionContext
    )
    fast = strawberry.Schema(Query, execution_context_class=Batched)
    variables = {"t": 4}
    expected = _answer(await reference.execute(query, variable_values=variables))
    CALLS.clear()
    assert _answer(await fast.execute(query, variable_values=variables)) == expected


async def test_one_call_per_field_and_level():
    fast = strawberry.Schema(Query, execution_context_class=Batched)
    CALLS.clear()
    result = await fast.execute("{ items { children { n detail { value } } } }")
    assert result.errors is None
    # 5 items' children (one call), then the 10 children's details (one call).
    assert CALLS == [("children", 5), ("batch", 10)]
    CALLS.clear()
    refused = await fast.execute("{ items { detail(times: -1) { value } } }")
    # The batch refused its arguments: each item then asks on its own, and fails alone.
    assert [kind for kind, _ in CALLS] == ["batch"] + ["single"] * 5
    assert len(refused.errors) == 5


async def test_nested_pages_cost_one_statement_per_field(gql, runtime):
    await ingest(gql, [record(f"c{c}", f"s{c}-{s}", minutes=s) for c in range(6) for s in range(8)])
    query = """{ classes(first: 10) { edges { node { studentCount mastery { population }
        students(first: 10) { edges { node { id classes { id } mastery { population }
          metrics(first: 3) { edges { node { id } } } quizAttempts { id } profile { id } } } } } } } }"""
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        body = await gql(query)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    assert "errors" not in body, body
    students = [
        e["node"] for c in body["data"]["classes"]["edges"] for e in c["node"]["students"]["edges"]
    ]
    assert len(students) == 48 and all(s["mastery"]["population"] == 1 for s in students)
    # classes, and once each: student counts, class mastery, students, their classes,
    # mastery, metrics, attempts and profiles.
    assert statements == 9
