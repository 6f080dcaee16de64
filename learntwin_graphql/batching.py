"""Fields resolved for a whole list at once: the lookahead behind nested reads.

A page of 100 students asking each for its mastery would otherwise make 100 resolver
calls, 100 DataLoader futures and 100 awaitables for graphql-core to complete, which
costs far more than the one query behind them. A field declared with `@batched(batch)`
has, beside its ordinary per-object resolver, a batch form `batch(info, sources, **args)`
returning one value per source. When the executor completes a list of objects, it looks
ahead into the items' selection (and through plain object fields such as a connection
edge's `node`): each batched field there is resolved once for the whole list, and every
item then completes synchronously from the stored values.

The batch form goes through the same gates as the resolver: argument checks, Strawberry's
argument conversion and the loaders' permission rules; a value the caller may not see
comes back as that item's error. Anything unusual (arguments that fail, @defer, a batch
that raises) leaves the list to the ordinary per-item path, whose errors are then exactly
those of an unbatched field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_argument_values,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema_converter import GraphQLCoreConverter, get_arguments
from strawberry.types.field import StrawberryField

from learntwin_graphql import argument_checks

F = TypeVar("F", bound=Callable[..., Any])
Batch = Callable[..., Awaitable[Sequence[Any]]]
_BATCH = "__learntwin_batch__"
_MISSING = object()


def batched(batch: Batch) -> Callable[[F], F]:
    """Declare `batch(info, sources, **arguments)` the batch form of the decorated
    resolver (placed under `@strawberry.field`); it returns one value, or one exception,
    per source, in order."""

    def mark(resolver: F) -> F:
        setattr(resolver, _BATCH, batch)
        return resolver

    return mark


def _batch_of(field: GraphQLField) -> tuple[StrawberryField, Batch] | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or definition.base_resolver is None:
        return None
    batch = getattr(definition.base_resolver.wrapped_func, _BATCH, None)
    return (definition, batch) if batch is not None else None


def _object_type(type_: Any) -> GraphQLObjectType | None:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return inner if isinstance(inner, GraphQLObjectType) else None


class BatchedFields:
    """Execution-context mixin: resolves `@batched` fields a list at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (id of the field node, id of the source) -> (source, value): sources are kept
        # alive with their values, so that an id cannot be reused during the request.
        self._prefetched: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._batch_fields: dict[tuple[str, str], tuple[StrawberryField, Batch] | None] = {}

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        calls = self._batch_calls(item_type, field_details_list, path, items)
        if not calls:
            return super().complete_iterable_value(  # type: ignore[misc]
                item_type, field_details_list, info, path, items, position_context
            )

        async def prefetched_then_completed() -> Any:
            await asyncio.gather(*calls)
            completed = super(BatchedFields, self).complete_iterable_value(  # type: ignore[misc]
                item_type, field_details_list, info, path, items, position_context
            )
            return await completed if self.is_awaitable(completed) else completed  # type: ignore[attr-defined]

        return prefetched_then_completed()

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self._prefetched:
            found = self._prefetched.get((id(field_details_list[0].node), id(source)))
            if found is not None:
                return self._complete_prefetched(
                    parent_type, field_details_list, path, found[1], position_context
                )
        return super().execute_field(  # type: ignore[misc]
            parent_type, source, field_details_list, path, position_context
        )

    def _complete_prefetched(
        self,
        parent_type: GraphQLObjectType,
        field_details_list: Any,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        field_def = parent_type.fields[field_details_list[0].node.name.value]
        return_type = field_def.type
        nodes = [details.node for details in field_details_list]
        info = self.build_resolve_info(field_def, nodes, parent_type, path)  # type: ignore[attr-defined]
        try:
            if isinstance(value, Exception):
                raise value
            return self.complete_value(  # type: ignore[attr-defined]
                return_type, field_details_list, info, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)  # type: ignore[attr-defined]
            return None

    def _prefetched_value(self, node_id: int, source: Any) -> Any:
        """The value fetched ahead for the field node's `source`, for the plain-field
        shortcut's plans: Undefined when there is none, or it is an error (reported on
        graphql-core's own path)."""
        found = self._prefetched.get((node_id, id(source)))
        if found is None or isinstance(found[1], Exception):
            return Undefined
        return found[1]

    def _is_batched(self, parent_type: GraphQLObjectType, name: str, field: GraphQLField) -> bool:
        return self._batch_field(parent_type, name, field) is not None

    # --- finding what to batch ------------------------------------------------

    def _batch_calls(
        self, item_type: Any, field_details_list: Any, path: Path, items: Any
    ) -> list[Awaitable[None]]:
        object_type = _object_type(item_type)
        if object_type is None or not isinstance(items, list) or len(items) < 2:
            return []
        calls: list[Awaitable[None]] = []
        self._look_ahead(object_type, field_details_list, _objects(items), path, calls, _DEPTH)
        return calls

    def _look_ahead(
        self,
        object_type: GraphQLObjectType,
        field_details_list: Any,
        sources: list[Any],
        path: Path,
        calls: list[Awaitable[None]],
        depth: int,
    ) -> None:
        """Batch calls for the batched fields selected on `sources`, and below them: through
        plain object and list fields (a connection's edges and their nodes) and through
        the values the batched fields return, so that a nested read costs one call per
        field whatever the size of its pages."""
        if not sources or depth <= 0:
            return
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)  # type: ignore[attr-defined]
        if new_defer_usages:
            return
        for details in grouped.values():
            name = details[0].node.name.value
            field = object_type.fields.get(name)
            if field is None:
                continue
            child = _named_object(field.type)
            batch = self._batch_field(object_type, name, field)
            if batch is not None:
                call = self._batch_call(object_type, field, batch, details, sources, path, depth)
                if call is not None:
                    calls.append(call)
            elif child is not None and _is_attribute(field):
                children = _objects([getattr(s, _python_name(field), None) for s in sources])
                self._look_ahead(child, details, children, path, calls, depth - 1)

    def _batch_field(
        self, object_type: GraphQLObjectType, name: str, field: GraphQLField
    ) -> tuple[StrawberryField, Batch] | None:
        key = (object_type.name, name)
        try:
            return self._batch_fields[key]
        except KeyError:
            found = self._batch_fields[key] = _batch_of(field)
            return found

    def _batch_call(
        self,
        object_type: GraphQLObjectType,
        field: GraphQLField,
        batch: tuple[StrawberryField, Batch],
        details: list[FieldDetails],
        sources: list[Any],
        path: Path,
        depth: int,
    ) -> Awaitable[None] | None:
        """The batch form called once for the sources not served yet, its values stored
        for each, then what is batched below them; None (the ordinary path then runs)
        when its arguments do not pass."""
        definition, function = batch
        node = details[0].node
        sources = [s for s in sources if (id(node), id(s)) not in self._prefetched]
        if not sources:
            return None
        schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        nodes = [d.node for d in details]
        raw_info = self.build_resolve_info(field, nodes, object_type, path)  # type: ignore[attr-defined]
        try:
            arguments = get_argument_values(field, node, self.variable_values)  # type: ignore[attr-defined]
            argument_checks.check(field, arguments)
            info = schema.config.info_class(_raw_info=raw_info, _field=definition)
            _, kwargs = get_arguments(
                field=definition,
                source=None,
                info=info,
                kwargs=arguments,
                config=schema.config,
                scalar_registry=schema.schema_converter.scalar_registry,
            )
        except Exception:  # the per-item path reports it, item by item
            return None
        kwargs.pop("info", None)
        child = _named_object(field.type)

        async def run() -> None:
            try:
                values = await function(info, sources, **kwargs)
            except Exception:  # the per-item path reports it, item by item
                return
            for source, value in zip(sources, values, strict=True):
                self._prefetched[(id(node), id(source))] = (source, value)
            if child is not None:
                below: list[Awaitable[None]] = []
                found = _objects([v for v in values if not isinstance(v, Exception)])
                self._look_ahead(child, details, found, path, below, depth - 1)
                await asyncio.gather(*below)

        return run()


# How far below a list the lookahead goes: a page, its edges and nodes, and their pages.
_DEPTH = 6


def _objects(values: list[Any]) -> list[Any]:
    """The objects among `values`, lists flattened (one level, as GraphQL lists go)."""
    found: list[Any] = []
    for value in values:
        if isinstance(value, list):
            found.extend(v for v in value if v is not None)
        elif value is not None:
            found.append(value)
    return found


def _named_object(type_: Any) -> GraphQLObjectType | None:
    """The object type a field returns, through non-null and one list wrapper."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        inner = inner.of_type
        inner = inner.of_type if isinstance(inner, GraphQLNonNull) else inner
    return inner if isinstance(inner, GraphQLObjectType) else None


def _is_attribute(field: GraphQLField) -> bool:
    """A field that only reads an attribute (Strawberry's basic field, no arguments)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return (
        isinstance(definition, StrawberryField)
        and definition.base_resolver is None
        and not field.args
    )


def _python_name(field: GraphQLField) -> str:
    definition = field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    return definition.python_name


# --- helpers for batch forms ---------------------------------------------------------


async def load_each(loader: Any, keys: list[Any]) -> list[Any]:
    """Every key loaded in one batch (a `loaders.Loader`); a key the caller may not see
    comes back as its error (the loaders check), the others as their values."""
    return list(await loader.load_all(keys))


async def load_together(loader: Any, keys: list[Any]) -> list[Any]:
    """Like `load_each`, but through the DataLoader's own batching: the keys of every
    call made in the same turn of the event loop are read in one batch. For fields
    under nested lists (a page of students, each with its goals, each with its path's
    steps), whose batch forms run once per inner list."""
    return list(await asyncio.gather(*(loader.load(k) for k in keys), return_exceptions=True))


async def load_optional(
    loader: Any, keys: Sequence[Any], convert: Callable[[Any], Any]
) -> list[Any]:
    """Each key's row converted, in one batch; None for a None key, a missing row or one
    the caller may not see (an optional reference such as a recommendation's lesson)."""
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    rows = dict(zip(wanted, await load_each(loader, wanted), strict=True))
    return [
        convert(rows[k]) if k is not None and isinstance(rows.get(k), dict) else None for k in keys
    ]


def mapped(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """Each value converted, errors left as they are (they become item errors)."""
    return [value if isinstance(value, Exception) else convert(value) for value in values]


async def one(values: Awaitable[Sequence[Any]]) -> Any:
    """A batched field's value for a single source (the field's ordinary resolver)."""
    value = (await values)[0]
    if isinstance(value, Exception):
        raise value
    return value
