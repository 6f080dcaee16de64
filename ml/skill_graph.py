"""The skill prerequisite graph: a map from each skill id to its prerequisite ids.

Checks (unknown ids, cycles), a deterministic topological order, and transitive closures,
all on plain mappings with the standard library's `graphlib`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any


class GraphError(ValueError):
    """A prerequisite graph refused; `field` is the input field, `ids` the skills at fault."""

    def __init__(self, message: str, *, field: str, ids: list[str]) -> None:
        super().__init__(message)
        self.field = field
        self.ids = ids


class UnknownPrerequisite(GraphError):
    """A prerequisite names a skill that is not in the graph."""


class PrerequisiteCycle(GraphError):
    """The prerequisites would form a cycle (a self-loop included)."""


def merged_graph(
    existing: Mapping[str, Iterable[str]], updates: Mapping[str, Iterable[str]]
) -> dict[str, set[str]]:
    """The prerequisite map after an upsert: each updated node's prerequisites replaced."""
    graph = {node: set(prerequisites) for node, prerequisites in existing.items()}
    for node, prerequisites in updates.items():
        graph[node] = set(prerequisites)
    return graph


def check_graph(graph: Mapping[str, Iterable[str]], *, field: str = "prerequisiteIds") -> None:
    """Raise UnknownPrerequisite or PrerequisiteCycle unless `graph` is a DAG over its nodes.

    Unknown ids come sorted; a cycle's ids are in order, e.g. ["a", "b", "c"] for
    a -> b -> c -> a.
    """
    edges = {node: set(prerequisites) for node, prerequisites in graph.items()}
    unknown = sorted({p for prerequisites in edges.values() for p in prerequisites} - set(edges))
    if unknown:
        raise UnknownPrerequisite(
            f"Unknown prerequisite skill(s): {', '.join(unknown)}", field=field, ids=unknown
        )
    for node in sorted(edges):
        if node in edges[node]:
            raise PrerequisiteCycle(
                f"Prerequisites would form a cycle: {node} -> {node}", field=field, ids=[node]
            )
    sorter = TopologicalSorter({node: sorted(edges[node]) for node in sorted(edges)})
    try:
        sorter.prepare()
    except CycleError as error:
        cycle = [str(node) for node in error.args[1]]
        ids = cycle[:-1] if len(cycle) > 1 and cycle[0] == cycle[-1] else cycle
        path = " -> ".join([*ids, ids[0]])
        raise PrerequisiteCycle(
            f"Prerequisites would form a cycle: {path}", field=field, ids=ids
        ) from None


def topological_order(
    graph: Mapping[str, Iterable[str]], *, key: Callable[[str], Any] | None = None
) -> list[str]:
    """Every node, prerequisites first; each ready batch sorted by (key(id), id).

    Prerequisites that are not nodes are included as nodes. Raises graphlib.CycleError on
    a cycle (check_graph first to get a PrerequisiteCycle).
    """
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for node, prerequisites in graph.items():
        sorter.add(node, *prerequisites)
    sorter.prepare()

    def sort_key(node: str) -> tuple[Any, str]:
        return (key(node) if key is not None else 0, node)

    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=sort_key)
        order.extend(ready)
        sorter.done(*ready)
    return order


def _closure(edges: Mapping[str, Iterable[str]], ids: Iterable[str]) -> set[str]:
    start = list(ids)
    seen: set[str] = set()
    stack = [n for node in start for n in edges.get(node, ())]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return seen


def ancestors(graph: Mapping[str, Iterable[str]], ids: Iterable[str]) -> set[str]:
    """Every transitive prerequisite of `ids` (the ids themselves only through a cycle)."""
    return _closure(graph, ids)


def descendants(graph: Mapping[str, Iterable[str]], ids: Iterable[str]) -> set[str]:
    """Every skill that transitively depends on one of `ids` (not the ids themselves)."""
    dependents: dict[str, set[str]] = {}
    for node, prerequisites in graph.items():
        for prerequisite in prerequisites:
            dependents.setdefault(prerequisite, set()).add(node)
    return _closure(dependents, ids)
