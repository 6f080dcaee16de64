"""The skill prerequisite graph: merge, checks, deterministic order, closures."""

from __future__ import annotations

import pytest

from ml.skill_graph import (
    GraphError,
    PrerequisiteCycle,
    UnknownPrerequisite,
    ancestors,
    check_graph,
    descendants,
    merged_graph,
    topological_order,
)

# variables <- types <- functions <- recursion ; types <- collections
GRAPH = {
    "variables": set(),
    "types": {"variables"},
    "functions": {"types"},
    "collections": {"types"},
    "recursion": {"functions"},
    "io": set(),
}


def test_merged_graph_replaces_updated_nodes() -> None:
    merged = merged_graph(GRAPH, {"recursion": ["collections"], "new": ["io"]})
    assert merged["recursion"] == {"collections"}
    assert merged["new"] == {"io"}
    assert merged["types"] == {"variables"}
    assert GRAPH["recursion"] == {"functions"}  # the input is not changed


def test_check_graph_accepts_a_dag() -> None:
    check_graph(GRAPH)
    check_graph({})


def test_unknown_prerequisites_are_sorted() -> None:
    with pytest.raises(UnknownPrerequisite) as error:
        check_graph({"a": ["zeta", "beta"], "b": ["a", "alpha"]}, field="skills")
    assert error.value.ids == ["alpha", "beta", "zeta"]
    assert error.value.field == "skills"
    assert isinstance(error.value, GraphError) and isinstance(error.value, ValueError)


def test_a_self_loop_is_a_cycle() -> None:
    with pytest.raises(PrerequisiteCycle) as error:
        check_graph({"a": ["a"]})
    assert error.value.ids == ["a"]
    assert error.value.field == "prerequisiteIds"
    assert str(error.value) == "Prerequisites would form a cycle: a -> a"


def test_a_three_cycle_names_its_nodes_in_order() -> None:
    graph = merged_graph(GRAPH, {"variables": ["recursion"]})
    with pytest.raises(PrerequisiteCycle) as error:
        check_graph(graph)
    ids = error.value.ids
    assert sorted(ids) == ["functions", "recursion", "types", "variables"]
    assert len(ids) == len(set(ids))  # the first node is not repeated
    assert str(error.value) == "Prerequisites would form a cycle: " + " -> ".join([*ids, ids[0]])

    with pytest.raises(PrerequisiteCycle) as small:
        check_graph({"a": ["c"], "b": ["a"], "c": ["b"]})
    # graphlib names the cycle in learning order: a is a prerequisite of b, b of c, c of a
    assert small.value.ids == ["a", "b", "c"]
    assert str(small.value) == "Prerequisites would form a cycle: a -> b -> c -> a"


def test_cycle_detection_is_deterministic() -> None:
    graph = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d"]}
    messages = set()
    for _ in range(5):
        with pytest.raises(PrerequisiteCycle) as error:
            check_graph(dict(reversed(list(graph.items()))))
        messages.add(str(error.value))
    assert len(messages) == 1


def test_topological_order_puts_prerequisites_first() -> None:
    order = topological_order(GRAPH)
    assert sorted(order) == sorted(GRAPH)
    for node, prerequisites in GRAPH.items():
        for prerequisite in prerequisites:
            assert order.index(prerequisite) < order.index(node)
    # ties are broken by id: io and variables are ready first
    assert order == ["io", "variables", "types", "collections", "functions", "recursion"]


def test_topological_order_ties_by_key_then_id() -> None:
    rank = {"functions": 0, "collections": 1}
    order = topological_order(GRAPH, key=lambda node: rank.get(node, 5))
    assert order == ["io", "variables", "types", "functions", "collections", "recursion"]
    shuffled = dict(reversed(list(GRAPH.items())))
    assert topological_order(shuffled) == topological_order(GRAPH)


def test_ancestors_and_descendants() -> None:
    assert ancestors(GRAPH, ["recursion"]) == {"functions", "types", "variables"}
    assert ancestors(GRAPH, ["recursion", "collections"]) == {"functions", "types", "variables"}
    assert ancestors(GRAPH, ["variables"]) == set()
    assert ancestors(GRAPH, ["missing"]) == set()
    assert descendants(GRAPH, ["types"]) == {"functions", "collections", "recursion"}
    assert descendants(GRAPH, ["recursion", "io"]) == set()
    assert descendants(GRAPH, ["variables"]) == {"types", "functions", "collections", "recursion"}
