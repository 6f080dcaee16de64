"""Execution with a shortcut for plain scalar fields.

Most of what a large answer holds (a page of metrics, a batch of predictions) is scalar
fields read straight off an object: no resolver, no arguments, no permission or other
field extension. graphql-core still builds a resolve info, wraps the resolver and walks
the value completion for each of them, several microseconds a field. Here such a field
is read with getattr and coerced by its scalar or enum type directly; an object whose
selected fields are all such fields (or __typename) is built in one loop, and so is a
list of such objects. The same holds one level down and further: a field that reads an
object, or a list of objects, off an attribute (a connection's `edges`, an edge's
`node`), or a batched field whose values the lookahead has fetched already (see
learntwin_graphql.batching), is part of its parent's plan when the object's own selection
has a plan, so a whole page of edges and nodes is built in one pass. Anything out of the ordinary (a null for a non-null field, a value
the type refuses, an awaitable or a returned exception as a value or as a list item, a
raised error, a schema extension resolving fields, @defer or @stream) takes graphql-core's
own path, so errors and their locations are exactly what they would be without the
shortcut.

Whether a value is out of the ordinary is decided once per class and request: graphql-core
asks `is_awaitable` and `isinstance(value, Exception)` of every value, which costs more
than reading the fields of a row, so a class whose instances all answer alike (no
`__getattr__`, `__getattribute__` or `__class__` of its own, not a generator) is
remembered as ordinary after its first instance, and the check per value is one set
lookup. An instance carrying its own `__await__` attribute is not seen; Python's `await`
ignores such an attribute as well.

Variables are coerced by graphql-core, except a list of records that its resolver
validates one by one (`ingestMetrics`'s `[MetricInput!]!`): those are coerced by their
shape alone and handed on as sent (`PerRecordVariables`, mixed in here; see
learntwin_graphql.per_record).
"""

from __future__ import annotations

from types import GeneratorType, WrapperDescriptorType
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from learntwin_graphql.per_record import PerRecordVariables


class PlainField(NamedTuple):
    attribute: str
    type: GraphQLLeafType
    non_null: bool
    # The one class whose values the type hands out unchanged (a str for String and ID,
    # a bool for Boolean): no coercion call for those.
    as_is: type | None = None


# graphql-core's own scalars that return an instance of exactly this class as it is.
_AS_IS = {id(GraphQLString): str, id(GraphQLID): str, id(GraphQLBoolean): bool}


class NestedField(NamedTuple):
    """An object, or a list of objects, read off an attribute or taken from a batched
    field's prefetched values (`attribute` None: keyed by the field node's id), then built
    by `plan`."""

    attribute: str | None
    node_id: int
    object_type: GraphQLObjectType
    plan: list[tuple[str, Any]]
    non_null: bool
    is_list: bool
    item_non_null: bool


Plan = list[tuple[str, PlainField | NestedField | None]]


# Per schema, per (type name, field name): the plain field, or None when it is not one.
_PLAIN: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], PlainField | None]] = (
    WeakKeyDictionary()
)


def plain_field(field: GraphQLField) -> PlainField | None:
    """The attribute and scalar type of a field that only reads an attribute."""
    attribute = attribute_of(field)
    if attribute is None:
        return None
    field_type = field.type
    non_null = isinstance(field_type, GraphQLNonNull)
    if non_null:
        field_type = field_type.of_type
    if not is_leaf_type(field_type):
        return None
    return PlainField(attribute, field_type, non_null, _AS_IS.get(id(field_type)))


def attribute_of(field: GraphQLField) -> str | None:
    """The attribute a field reads when it does nothing else (Strawberry's basic field, no
    arguments, no extension), whatever its type; None for any other field."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or definition.default_resolver is not getattr
        or field.args
        # Strawberry gives a basic field this resolver unless exception handlers apply.
        or getattr(field.resolve, "__name__", None) != "_get_basic_result"
    ):
        return None
    return definition.python_name


# Classes whose every instance is a value as it is (see the module docstring).
_ORDINARY_FROM_THE_START = frozenset({str, int, float, bool})
# Per class: whether its class alone decides that an instance is neither awaitable nor an
# exception (weak keys, so classes made at run time are not kept alive).
_CLASS_DECIDES: WeakKeyDictionary[type, bool] = WeakKeyDictionary()


def class_decides(kind: type) -> bool:
    """Whether every instance of `kind` is awaitable, or an exception, exactly when any one
    of them is: then one instance's answer can stand for the class's."""
    try:
        return _CLASS_DECIDES[kind]
    except KeyError:
        pass
    # object's own hooks answer alike for every instance; so do the attribute hooks of
    # classes written in C (slot wrappers), such as datetime's.
    decides = kind is not GeneratorType and not any(
        "__class__" in namespace
        or any(
            hook in namespace and not isinstance(namespace[hook], WrapperDescriptorType)
            for hook in ("__getattr__", "__getattribute__")
        )
        for namespace in map(vars, kind.__mro__[:-1])
    )
    _CLASS_DECIDES[kind] = decides
    return decides


class LearnTwinExecutionContext(PerRecordVariables, StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain fields itself (see the module
    docstring); every other field, and every value it is unsure of, goes to graphql-core.
    Records of per-record inputs are coerced by their shape alone (`PerRecordVariables`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per grouped field set of this operation (kept alive, keyed by id): how to read
        # an object whose selected fields are all plain (or __typename), else None.
        self._plans: dict[int, tuple[Any, Plan | None]] = {}
        # None when a schema extension wants to see every field resolved: no shortcut then.
        middleware = self.middleware_manager
        self._plain_fields: dict[tuple[str, str], PlainField | None] | None = (
            None
            if middleware is not None and middleware.middlewares
            else _PLAIN.setdefault(self.schema, {})
        )
        # Classes seen in this operation whose instances are plain values (see _is_ordinary).
        self._ordinary_classes: set[type] = set(_ORDINARY_FROM_THE_START)

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        rows = self._plain_list(item_type, field_details_list, path, items)
        if rows is not None:
            return rows
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is not None:
            row = self._row(plan, parent_type, source_value)
            if row is not None:
                return row
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _plain_list(
        self, item_type: Any, field_details_list: Any, path: Path, items: Any
    ) -> list[Any] | None:
        """A list of objects whose selected fields are all plain, built row by row; None
        when graphql-core's own path must run (for the whole list: nothing is consumed)."""
        non_null = isinstance(item_type, GraphQLNonNull)
        object_type = item_type.of_type if non_null else item_type
        if (
            not isinstance(object_type, GraphQLObjectType)
            or object_type.is_type_of is not None
            or not isinstance(items, list | tuple)
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        plan = None if new_defer_usages else self._plan(object_type, grouped_field_set)
        if plan is None:
            return None
        ordinary = self._ordinary_classes
        rows: list[Any] = []
        for item in items:
            if item is None:
                if non_null:
                    return None
                rows.append(None)
                continue
            # An awaitable or a returned exception is completed (or reported) by
            # graphql-core even when no field of it is read, as under __typename alone.
            if type(item) not in ordinary and not self._is_ordinary(item):
                return None
            row = self._row(plan, object_type, item)
            if row is None:
                return None
            rows.append(row)
        return rows

    def _row(
        self, plan: Plan, parent_type: GraphQLObjectType, source: Any
    ) -> dict[str, Any] | None:
        row: dict[str, Any] = {}
        for response_name, entry in plan:
            if entry is None:
                row[response_name] = parent_type.name  # __typename
                continue
            if type(entry) is PlainField:
                value = self._read(entry, source)
            else:
                value = self._nested(entry, source)  # type: ignore[arg-type]
            if value is Undefined:
                return None
            row[response_name] = value
        return row

    def _nested(self, entry: NestedField, source: Any) -> Any:
        """The completed object or list of objects of a nested field, or Undefined when
        graphql-core's own path must run."""
        if entry.attribute is None:
            value = self._prefetched_value(entry.node_id, source)
            if value is Undefined:
                return Undefined
        else:
            try:
                value = getattr(source, entry.attribute)
            except Exception:  # graphql-core's path reports it
                return Undefined
        if value is None:
            return Undefined if entry.non_null else None
        ordinary = self._ordinary_classes
        if not entry.is_list:
            if type(value) not in ordinary and not self._is_ordinary(value):
                return Undefined
            row = self._row(entry.plan, entry.object_type, value)
            return Undefined if row is None else row
        if not isinstance(value, list | tuple):
            return Undefined
        rows: list[Any] = []
        for item in value:
            if item is None:
                if entry.item_non_null:
                    return Undefined
                rows.append(None)
                continue
            if type(item) not in ordinary and not self._is_ordinary(item):
                return Undefined
            row = self._row(entry.plan, entry.object_type, item)
            if row is None:
                return Undefined
            rows.append(row)
        return rows

    def _prefetched_value(self, node_id: int, source: Any) -> Any:
        """A batched field's value fetched ahead for `source`, else Undefined (no batching
        here: see BatchedFields)."""
        return Undefined

    def _is_batched(self, parent_type: GraphQLObjectType, name: str, field: GraphQLField) -> bool:
        """Whether the field is resolved a list at a time (see BatchedFields)."""
        return False

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        plain = self._plain(parent_type, field_details_list[0].node.name.value)
        if plain is not None:
            value = self._read(plain, source)
            if value is not Undefined:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _read(self, plain: PlainField, source: Any) -> Any:
        """The completed value of a plain field, or Undefined when graphql-core's own
        path must run (to report an error the way it always does)."""
        try:
            value = getattr(source, plain.attribute)
            if type(value) is plain.as_is:
                return value
            if value is None:
                return Undefined if plain.non_null else None
            # JSON passes any value through, String and ID coerce objects of our classes
            # with str(): an exception, a future or Undefined would come out as data where
            # graphql-core reports, awaits or nulls it.
            if type(value) not in self._ordinary_classes and not self._is_ordinary(value):
                return Undefined
            coerced = plain.type.coerce_output_value(value)
        except Exception:  # graphql-core's path reports it
            return Undefined
        return Undefined if coerced is None else coerced

    def _is_ordinary(self, value: Any) -> bool:
        """Whether graphql-core would take the value as it is: not an awaitable, not a
        returned exception, not Undefined. Remembers the class when it decides that; an
        error in the checks themselves is left for graphql-core to raise where it would."""
        try:
            if value is Undefined or isinstance(value, Exception) or self.is_awaitable(value):
                return False
        except Exception:
            return False
        kind = type(value)
        if value.__class__ is kind and class_decides(kind):
            self._ordinary_classes.add(kind)
        return True

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any]
    ) -> Plan | None:
        try:
            return self._plans[id(grouped_field_set)][1]
        except KeyError:
            pass
        plan: Plan | None = []
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            entry: PlainField | NestedField | None = None
            if name != "__typename":
                entry = self._plain(parent_type, name) or self._nested_entry(
                    parent_type, name, field_details_list
                )
                if entry is None:
                    plan = None
                    break
            plan.append((response_name, entry))  # type: ignore[union-attr]
        self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _nested_entry(
        self, parent_type: GraphQLObjectType, name: str, field_details_list: Any
    ) -> NestedField | None:
        """The plan of an object field read off an attribute or fetched ahead by its batch
        form, when its selection has one; None otherwise (and for any directive on it)."""
        field = parent_type.fields.get(name)
        if self._plain_fields is None or field is None:
            return None
        if any(details.node.directives for details in field_details_list):
            return None  # @stream and the like: graphql-core's own path
        batched = self._is_batched(parent_type, name, field)
        attribute = None if batched else attribute_of(field)
        if attribute is None and not batched:
            return None
        field_type, non_null = field.type, False
        if isinstance(field_type, GraphQLNonNull):
            field_type, non_null = field_type.of_type, True
        is_list = item_non_null = False
        if isinstance(field_type, GraphQLList):
            field_type, is_list = field_type.of_type, True
            if isinstance(field_type, GraphQLNonNull):
                field_type, item_non_null = field_type.of_type, True
        if not isinstance(field_type, GraphQLObjectType) or field_type.is_type_of is not None:
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(field_type, field_details_list)
        plan = None if new_defer_usages else self._plan(field_type, grouped)
        if plan is None:
            return None
        node_id = id(field_details_list[0].node)
        return NestedField(attribute, node_id, field_type, plan, non_null, is_list, item_non_null)

    def _plain(self, parent_type: GraphQLObjectType, name: str) -> PlainField | None:
        fields = self._plain_fields
        if fields is None:
            return None
        key = (parent_type.name, name)
        try:
            return fields[key]
        except KeyError:
            field = parent_type.fields.get(name)
            found = fields[key] = plain_field(field) if field is not None else None
            return found
