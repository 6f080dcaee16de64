"""What one GraphQL request may ask of the server, checked before anything runs.

Validation rules (cached with the document): depth, aliases, the length of a string
literal, at most one sign-in mutation. An extension that also sees the variables: the
estimated cost of the operation, `first` multiplied down the selection, so one request
of nested pages cannot stall everyone. (String arguments, variables included, are
checked where they are used: see argument_checks.)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_composite_type,
    parse,
    value_from_ast_untyped,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

from learntwin_graphql.errors import BadUserInput

if TYPE_CHECKING:
    from learntwin_graphql.fast_lane import KnownDocuments

# Each costs an argon2 hash: one per request, so aliases cannot multiply them.
SIGN_IN_FIELDS = frozenset({"register", "login"})


def _fragments(definitions: Iterable[Any]) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}


def _spreads(selection_set: SelectionSetNode | None) -> Iterator[str]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode):
            yield from _spreads(selection.selection_set)


def fragments_sound(definitions: Iterable[Any]) -> bool:
    """Every spread names a defined fragment and no fragment spreads itself: what the
    limiters below assume (graphql-core's own rules report the defect otherwise)."""
    definitions = list(definitions)
    fragments = _fragments(definitions)
    for definition in definitions:
        selection_set = getattr(definition, "selection_set", None)
        if any(name not in fragments for name in _spreads(selection_set)):
            return False
    done: set[str] = set()

    def acyclic(name: str, path: frozenset[str]) -> bool:
        if name in path:
            return False
        if name in done:
            return True
        inner = path | {name}
        if not all(acyclic(child, inner) for child in _spreads(fragments[name].selection_set)):
            return False
        done.add(name)
        return True

    return all(acyclic(name, frozenset()) for name in fragments)


def _guarded(rule: type[ValidationRule]) -> type[ValidationRule]:
    """A limiter rule that stands aside for documents with undefined or cyclic fragments,
    which it would otherwise crash on (they fail validation anyway)."""

    class Guarded(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            if fragments_sound(context.document.definitions):
                super().__init__(context)
            else:
                ValidationRule.__init__(self, context)

    Guarded.__name__ = f"Guarded{rule.__name__}"
    return Guarded


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _root_fields(fragments[selection.name.value].selection_set, fragments)


def validation_rules(max_depth: int, max_aliases: int, max_string: int) -> list[type]:
    """The rules, built once: a class made per request would defeat the ValidationCache."""

    class OneSignInPerRequest(ValidationRule):
        def enter_document(self, node: Any, *_: Any) -> None:
            if not fragments_sound(node.definitions):
                return
            fragments = _fragments(node.definitions)
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                found = [
                    field
                    for field in _root_fields(definition.selection_set, fragments)
                    if field.name.value in SIGN_IN_FIELDS
                ]
                if len(found) > 1:
                    self.report_error(
                        GraphQLError(
                            "At most one `register` or `login` per request.", nodes=found[1:]
                        )
                    )

    class StringLiteralLength(ValidationRule):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if len(node.value) > max_string:
                self.report_error(
                    GraphQLError(
                        f"A string literal is longer than {max_string} characters.", nodes=[node]
                    )
                )

    return [
        *(_guarded(r) for r in QueryDepthLimiter(max_depth=max_depth).validation_rules),
        *(_guarded(r) for r in MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules),
        OneSignInPerRequest,
        StringLiteralLength,
    ]


_validate = functools.lru_cache(maxsize=256)(validate_document)


# --- cost --------------------------------------------------------------------


def _first(field: FieldNode, definition: Any, variables: Mapping[str, Any]) -> int | None:
    """The page size a field asks for: its `first` argument, a variable's value or the
    schema's default; None when the field takes no `first`."""
    argument = definition.args.get("first")
    if argument is None:
        return None
    value: Any = argument.default_value
    for node in field.arguments or ():
        if node.name.value != "first":
            continue
        if isinstance(node.value, IntValueNode):
            value = int(node.value.value)
        elif isinstance(node.value, VariableNode):
            value = variables.get(node.value.name.value, value)
    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else 1


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """Objects the operation may produce: each field with a selection counts once per
    parent it appears in, and a field taking `first` multiplies everything below it by
    that page size. Scalar leaves are free: reading them is the cheap part."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0

    def walk(parent: Any, selection_set: SelectionSetNode, multiplier: int) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                definition = getattr(parent, "fields", {}).get(selection.name.value)
                if definition is None or selection.selection_set is None:
                    continue
                total += multiplier
                child = get_named_type(definition.type)
                page = _first(selection, definition, variables)
                inner = multiplier * page if page is not None else multiplier
                if is_composite_type(child):
                    total += walk(child, selection.selection_set, inner)
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner_set, condition = selection.selection_set, selection.type_condition
                else:
                    fragment = fragments[selection.name.value]
                    inner_set, condition = fragment.selection_set, fragment.type_condition
                target = schema.get_type(condition.name.value) if condition else parent
                total += walk(target or parent, inner_set, multiplier)
        return total

    return walk(root, operation.selection_set, 1)


@functools.lru_cache(maxsize=256)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class RequestChecks(SchemaExtension):
    """Everything checked before a request executes, in one extension (each extension
    costs its hooks on every request): parsing with the token limit and validation with
    the rules above, both cached by document, then the cost of the operation with its
    variables, refused above `max_cost` (BAD_USER_INPUT, with the figures). Documents
    that pass are remembered in `known`, for the fast lane (see fast_lane)."""

    def __init__(
        self,
        *,
        max_tokens: int,
        rules: Sequence[type],
        max_cost: int,
        known: KnownDocuments | None = None,
    ) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)
        self.max_cost = max_cost
        self.known = known

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        try:
            context.graphql_document = _parse(context.query, self.max_tokens)
        except GraphQLError:
            # Strawberry parses again and reports the syntax error inside the operation,
            # like every other request error.
            context.graphql_document = None
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        errors = _validate(
            context.schema._schema, document, (*context.validation_rules, *self.rules)
        )
        context.pre_execution_errors = errors
        if not errors and document is not None and context.query and self.known is not None:
            self.known.remember(context.query, document)  # the fast lane may run it now
        yield

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            operation = operation_named(document.definitions, context.operation_name)
            if operation is not None:
                check_cost(
                    context.schema._schema, document, operation, context.variables, self.max_cost
                )
        yield


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    max_cost: int,
) -> None:
    """BAD_USER_INPUT, with the figures, when the operation with these variables could
    produce more than `max_cost` objects."""
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    cost = operation_cost(
        schema, operation, _fragments(document.definitions), {**defaults, **(variables or {})}
    )
    if cost > max_cost:
        raise BadUserInput(
            f"This query could produce {cost} objects, more than the limit of "
            f"{max_cost}: ask for smaller pages (`first`) or fewer of them.",
            cost=cost,
            maximum=max_cost,
        )


def operation_named(definitions: Iterable[Any], name: str | None) -> OperationDefinitionNode | None:
    """The operation graphql-core will run (None where it will report an error instead):
    the only one when no name is given, else the one of that name."""
    found = None
    for definition in definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if name is None:
            if found is not None:
                return None
            found = definition
        elif definition.name is not None and definition.name.value == name:
            found = definition
    return found
