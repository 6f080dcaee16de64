"""The fuzz test's operations, built from the schema: each root field, and each nested
field with arguments, with every argument a variable (OPERATIONS); each root field with
inline arguments from hypothesis-graphql (INLINE). Each fits in the server's query limits."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from learntwin_graphql.config import Settings
from learntwin_graphql.schema import schema as strawberry_schema
from tests.fuzz_values import INLINE_SCALARS, draw_value

SCHEMA = graphql.build_schema(strawberry_schema.as_str())
ROOT_TYPES = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type}
ROOT_FIELDS = [
    (kind, name) for kind, root in ROOT_TYPES.items() if root is not None for name in root.fields
]
# The server's query limits (README, Limits), as the test app has them: an operation must
# fit in them, or it would only ever exercise the limiter.
LIMITS = Settings.model_construct()
MAX_TOKENS = LIMITS.max_query_tokens
MAX_DEPTH = LIMITS.max_query_depth


# --- operations with every argument as a variable ----------------------------------------


@dataclass(frozen=True)
class Variable:
    type: graphql.GraphQLInputType
    argument: str  # the argument's name: it picks the strategy (`after` gets cursors)
    owner: str  # the field's name: it picks the accepted values (`class(id)` a class id)


@dataclass
class Operation:
    """A document whose every argument is a variable, and how to fill them."""

    document: str
    variables: dict[str, Variable] = field(default_factory=dict)

    def values(self) -> st.SearchStrategy[dict[str, Any]]:
        """Variables to send: one or two of them hostile, the others omitted (so the
        argument's default applies: nullable variables are declared for arguments with
        one) or accepted values. One bad variable makes graphql-core refuse the whole
        request before any resolver runs, so most variables must be good ones."""
        names = sorted(self.variables)

        @st.composite
        def drawn(draw: st.DrawFn) -> dict[str, Any]:
            if not names:
                return {}
            focus = set(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2)))
            level = draw(st.integers(min_value=4, max_value=10))
            values: dict[str, Any] = {}
            for name in names:
                variable = self.variables[name]
                required = isinstance(variable.type, graphql.GraphQLNonNull)
                hostile = level if name in focus else 0
                # Left out, the default applies; a required one left out is refused, so
                # only a hostile one is, and rarely.
                if required:
                    omitted = hostile > 0 and draw(st.integers(min_value=0, max_value=19)) == 0
                else:
                    omitted = draw(st.integers(min_value=0, max_value=3 if hostile else 1)) == 0
                if not omitted:
                    values[name] = draw_value(
                        draw, variable.type, variable.argument, hostile, variable.owner
                    )
            return values

        return drawn()

    def accepted(self) -> st.SearchStrategy[dict[str, Any]]:
        """Variables the server accepts: every one given, none of them hostile."""

        @st.composite
        def drawn(draw: st.DrawFn) -> dict[str, Any]:
            return {
                name: draw_value(draw, v.type, v.argument, 0, v.owner)
                for name, v in self.variables.items()
            }

        return drawn()


class _Builder:
    """Writes selections in which every argument is a variable, declared once at the top."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.variables: dict[str, Variable] = {}
        self.declarations: list[str] = []

    def arguments(self, field_name: str, field_: graphql.GraphQLField) -> str:
        if not field_.args:
            return ""
        parts: list[str] = []
        for arg_name, arg in field_.args.items():
            variable = f"{field_name}_{arg_name}_{next(self.counter)}"
            declared = arg.type
            # With a default, a nullable variable may fill the non-null argument; omitting
            # it then uses the default, and sending null is a (refusable) hostile value.
            if arg.default_value is not graphql.Undefined:
                declared = graphql.get_nullable_type(declared)
            self.declarations.append(f"${variable}: {declared}")
            self.variables[variable] = Variable(arg.type, arg_name, field_name)
            parts.append(f"{arg_name}: ${variable}")
        return "(" + ", ".join(parts) + ")"

    def selection(self, type_: graphql.GraphQLOutputType, path: frozenset[str], left: int) -> str:
        """Every field, nested ones `left` levels deep, never revisiting a type on the
        path (no Class -> students -> classes -> ...)."""
        named = graphql.get_named_type(type_)
        if isinstance(named, graphql.GraphQLUnionType):
            parts = ["__typename"]
            for member in named.types:
                if member.name not in path:
                    sub = self.selection(member, path | {member.name}, left)
                    parts.append(f"... on {member.name} {sub}")
            return "{ " + " ".join(parts) + " }"
        if not isinstance(named, graphql.GraphQLObjectType):
            return ""
        parts = []
        for name, field_ in named.fields.items():
            target = graphql.get_named_type(field_.type)
            if graphql.is_leaf_type(target):
                parts.append(name + self.arguments(name, field_))
            elif left > 0 and target.name not in path:
                sub = self.selection(field_.type, path | {target.name}, left - 1)
                parts.append(name + self.arguments(name, field_) + " " + sub)
        return "{ " + " ".join(parts or ["__typename"]) + " }"

    def document(self, kind: str, body: str) -> str:
        header = f"({', '.join(self.declarations)})" if self.declarations else ""
        return f"{kind} Fuzz{header} {{ {body} }}"


def whole_operation(kind: str, root_field: str, max_nesting: int = 4) -> Operation:
    """A root field with all it returns, as deep as the query limits allow: hostile
    arguments at any level, and whatever the resolvers make of them, all in one request."""
    root = ROOT_TYPES[kind]
    assert root is not None
    field_ = root.fields[root_field]
    for nesting in range(max_nesting, -1, -1):
        builder = _Builder()
        call = root_field + builder.arguments(root_field, field_)
        target = graphql.get_named_type(field_.type)
        sub = builder.selection(field_.type, frozenset({target.name}), nesting)
        document = builder.document(kind, f"{call} {sub}")
        if _fits(document):
            return Operation(document, builder.variables)
    raise AssertionError(f"no selection of {kind} {root_field} fits the query limits")


def nested_operations() -> dict[str, Operation]:
    """One small operation per field with arguments below the root (Class.metrics,
    Student.mastery, ...), reached by the shortest path: with only a few variables, each
    example puts a hostile value in one of that field's arguments far more often than in
    the whole-field operation with twenty variables."""
    found: dict[str, Operation] = {}
    # Breadth first: (kind, the type reached, the fields from the root to it).
    queue: deque[tuple[str, graphql.GraphQLObjectType, tuple[str, ...]]] = deque(
        (kind, root, ()) for kind, root in ROOT_TYPES.items() if root is not None
    )
    reached: set[str] = set()
    while queue:
        kind, type_, path = queue.popleft()
        for name, field_ in type_.fields.items():
            target = graphql.get_named_type(field_.type)
            key = f"{type_.name}.{name}"
            if path and field_.args and key not in found:
                found[key] = _along(kind, (*path, name))
            if isinstance(target, graphql.GraphQLObjectType) and target.name not in reached:
                reached.add(target.name)
                queue.append((kind, target, (*path, name)))
    return found


def _along(kind: str, path: tuple[str, ...]) -> Operation:
    """The operation selecting the last field of `path`, with its whole result two
    levels deep; every argument on the way is a variable too."""
    root = ROOT_TYPES[kind]
    assert root is not None
    builder = _Builder()
    calls: list[str] = []
    type_: graphql.GraphQLOutputType = root
    for name in path:
        owner = graphql.get_named_type(type_)
        assert isinstance(owner, graphql.GraphQLObjectType)
        field_ = owner.fields[name]
        calls.append(name + builder.arguments(name, field_))
        type_ = field_.type
    target = graphql.get_named_type(type_)
    tail = builder.selection(type_, frozenset({target.name}), 2)
    body = " { ".join(calls) + (f" {tail}" if tail else "") + " }" * (len(calls) - 1)
    document = builder.document(kind, body)
    assert _fits(document), document
    return Operation(document, builder.variables)


def _fits(document: str) -> bool:
    tokens = 0
    lexer = graphql.language.Lexer(graphql.Source(document))
    while lexer.advance().kind is not graphql.language.TokenKind.EOF:
        tokens += 1
    return tokens <= MAX_TOKENS and _depth(graphql.parse(document)) <= MAX_DEPTH


def _depth(document: graphql.DocumentNode) -> int:
    def walk(node: Any, level: int) -> int:
        selections = getattr(getattr(node, "selection_set", None), "selections", None) or ()
        return max((walk(child, level + 1) for child in selections), default=level)

    return max(walk(definition, 0) for definition in document.definitions)


OPERATIONS = {
    **{f"{kind}.{name}": whole_operation(kind, name) for kind, name in ROOT_FIELDS},
    **nested_operations(),
}


# --- operations with inline arguments, from hypothesis-graphql ---------------------------


@st.composite
def _printed(draw: st.DrawFn, strategy: st.SearchStrategy[str]) -> str:
    """The document as a fresh string: Hypothesis reports a value built by `map` as the
    calls that built it, and for hypothesis-graphql's documents that is the whole AST,
    pretty-printed for minutes. A value a composite returns is reported as itself."""
    return draw(strategy).encode().decode()


INLINE = {
    f"{kind}.{name}": _printed(from_schema(SCHEMA, fields=[name], custom_scalars=INLINE_SCALARS))
    for kind, name in ROOT_FIELDS
}
