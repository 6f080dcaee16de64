"""Records that their resolver validates one by one, coerced once: by their shape.

An `ingestMetrics` carries up to 10,000 records in one `[MetricInput!]!` variable.
graphql-core coerced every field of every record (type checks, scalar parsing, defaults),
which cost more than storing them, and Strawberry then built an object of each record and
the resolver took it apart again. Both were wasted: the input is marked
`validated_per_record` because its resolver hands every record to
`ml.metrics.validate_batch`, which checks each field itself (with GraphQL's scalar rules
for GraphQL records) and reports each bad record by its index. Worse, graphql-core turned
one mistyped field into an error for the whole request, where the REST route refuses that
one record and stores the others.

Two steps, each on its own layer:

- Coercion (`PerRecordVariables`, mixed into the execution context). A variable declared
  as a list of such an input (`[T!]` or `[T!]!`) whose value has the shape GraphQL
  declares (a list of objects, or one object taken as a list of one, each naming only
  fields of T) is handed on as sent: the JSON's own dicts, keyed by GraphQL field names,
  values untouched, omitted fields left out. graphql-core coerces an empty list in its
  place, so its own checks of the operation still run, then the records take its place
  among the coerced values (and the raw value among the sources).
- Conversion (`install`). Strawberry converts a list argument item by item (about as
  costly as graphql-core's coercion was, even when the item's `from_input` does nothing),
  and gives no argument a way out. So a field taking such a list gets a resolver that does
  what Strawberry's does (its Info, its conversion of the other arguments, the resolver
  call) but hands the records over as they are: a list of mappings keyed by GraphQL
  names. Fields with Strawberry field extensions, permission classes, exception handlers
  or argument checks keep Strawberry's resolver; their records still arrive as mappings,
  as the input's `from_input` passes each on (`api.fast_input.as_sent`).

What clients see:
- a value that is not a list of objects, or a record naming a field T does not have, is
  coerced by graphql-core as always and refused with graphql-core's own variable error;
- a field of the wrong type, a null or a missing required field (e.g. `stuck: "yes"`) is
  now that record's `rejected` entry, with its index, instead of a variable error that
  cost the whole request; the other records are stored;
- inline literals and every other variable take graphql-core's path unchanged (validation
  has checked literals against the schema already).

graphql-core gives an execution context no hook at schema build, so the first executor
built for a schema installs the resolvers (`install` runs once per schema; building the
schema may call it at once instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakSet

from graphql import (
    DocumentNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    TypeNode,
)
from graphql.execution.values import VariableValues
from strawberry.schema.schema_converter import GraphQLCoreConverter, get_arguments
from strawberry.types.field import StrawberryField

from learntwin_graphql.argument_checks import PER_RECORD_INPUTS
from learntwin_graphql.query_limits import operation_named

# --- coercion: a variable's records by their shape -------------------------------------


def per_record_input(schema: GraphQLSchema, type_node: TypeNode) -> GraphQLInputObjectType | None:
    """The input type of a variable declared as a list of one per-record input (`[T!]` or
    `[T!]!`, T marked `validated_per_record`) whose values graphql-core would pass on
    unchanged but for their coercion: every field by its own name, no oneOf."""
    node = type_node.type if isinstance(type_node, NonNullTypeNode) else type_node
    if not isinstance(node, ListTypeNode) or not isinstance(node.type, NonNullTypeNode):
        return None
    named = node.type.type
    if not isinstance(named, NamedTypeNode) or named.name.value not in PER_RECORD_INPUTS:
        return None
    input_type = schema.get_type(named.name.value)
    if (
        not isinstance(input_type, GraphQLInputObjectType)
        or input_type.is_one_of
        or any(field.out_name for field in input_type.fields.values())
    ):
        return None
    return input_type


def records_as_sent(value: Any, input_type: GraphQLInputObjectType) -> list[Any] | None:
    """The records of a per-record variable exactly as the client sent them, when the
    value has the shape its type declares: a list of objects (or one object, which
    GraphQL takes as a list of one) naming only fields of `input_type`. None otherwise:
    graphql-core then coerces the variable and reports what is wrong, as it always did."""
    if type(value) is dict:
        value = [value]
    elif type(value) is not list:
        return None
    fields = input_type.fields.keys()
    for record in value:
        if type(record) is not dict or not record.keys() <= fields:
            return None
    return value


def _taken_variables(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, sent: dict[str, Any]
) -> dict[str, list[Any]]:
    """The records of each per-record variable of the operation whose value has the
    declared shape, by variable name."""
    operation = operation_named(document.definitions, operation_name) if sent else None
    taken: dict[str, list[Any]] = {}
    for definition in (operation.variable_definitions or ()) if operation else ():
        name = definition.variable.name.value
        if name not in sent:  # graphql-core applies the default, or reports it missing
            continue
        input_type = per_record_input(schema, definition.type)
        records = None if input_type is None else records_as_sent(sent[name], input_type)
        if records is not None:
            taken[name] = records
    return taken


class PerRecordVariables:
    """Executor mixin: the records of per-record variables coerced by their shape alone
    and handed on as sent, and their fields' resolvers installed (see the module
    docstring)."""

    variable_values: VariableValues

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """graphql-core's build (an executor, or the request's errors), with the records
        of per-record variables handed on as sent."""
        if schema not in _INSTALLED:
            install(schema)
        sent = raw_variable_values or {}
        taken = _taken_variables(schema, document, operation_name, sent)
        if taken:
            # graphql-core coerces an empty list in their place, in no time.
            raw_variable_values = {**sent, **{name: [] for name in taken}}
        built = super().build(  # type: ignore[misc]
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
        if taken and not isinstance(built, list):
            sources, coerced = built.variable_values
            for name, records in taken.items():
                sources[name] = sources[name]._replace(value=sent[name])
                coerced[name] = records
        return built


# --- conversion: the records handed to the resolver as they are ------------------------

_INSTALLED: WeakSet[GraphQLSchema] = WeakSet()


def install(schema: GraphQLSchema) -> int:
    """Give every field taking a list of per-record records a resolver that hands them
    over unconverted (see the module docstring); returns how many fields got one. Once
    per schema: later calls do nothing."""
    if schema in _INSTALLED:
        return 0
    _INSTALLED.add(schema)
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None:
        return 0
    installed = 0
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            direct = _direct_resolver(strawberry_schema, field)
            if direct is not None:
                field.resolve = direct
                installed += 1
    return installed


def _is_per_record_list(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    item = inner.of_type if isinstance(inner, GraphQLList) else None
    return (
        isinstance(item, GraphQLNonNull)
        and isinstance(item.of_type, GraphQLInputObjectType)
        and item.of_type.name in PER_RECORD_INPUTS
    )


def _direct_resolver(strawberry_schema: Any, field: GraphQLField) -> Callable[..., Any] | None:
    """A resolver for `field` passing its per-record arguments on as they are, or None
    when the field takes none or needs Strawberry's own resolver for something else."""
    records = [name for name, argument in field.args.items() if _is_per_record_list(argument.type)]
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    converter = strawberry_schema.schema_converter
    handlers = getattr(converter, "_get_field_exception_handlers", None)
    if (
        not records
        or not isinstance(definition, StrawberryField)
        or definition.base_resolver is None
        or definition.extensions  # permission classes are an extension too
        or definition.is_subscription
        or getattr(field.resolve, "_checked", False)  # argument_checks wrapped it
        or handlers is None  # a Strawberry that may handle exceptions some other way
        or handlers(definition)
    ):
        return None
    config = strawberry_schema.config
    python_names = {
        config.name_converter.from_argument(argument): argument.python_name
        for argument in definition.arguments
    }
    as_sent = tuple((name, python_names[name]) for name in records)
    registry = converter.scalar_registry

    def resolve(source: Any, info: Any, **arguments: Any) -> Any:
        passed = {python: arguments.pop(name) for name, python in as_sent if name in arguments}
        strawberry_info = config.info_class(_raw_info=info, _field=definition)
        args, kwargs = get_arguments(
            field=definition,
            source=source,
            info=strawberry_info,
            kwargs=arguments,
            config=config,
            scalar_registry=registry,
        )
        kwargs.update(passed)
        return definition.get_result(source, info=strawberry_info, args=args, kwargs=kwargs)

    return resolve
