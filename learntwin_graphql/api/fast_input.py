"""Faster construction of large lists of flat input objects.

graphql-core has already coerced every value of an input object (scalars parsed, enums
looked up, types checked), so building the Python object of a flat input needs only the
renaming from GraphQL names to field names. Strawberry's generic conversion costs about
60 µs per object, which dominates a request carrying a thousand records.

The GraphQL names come from the name converter of the schema doing the conversion
(Strawberry hands its config to `from_input`), so `auto_camel_case` and an explicit
`strawberry.field(name=...)` mean here what they mean in the schema. Inputs this renaming
would build wrongly are refused when they are declared, not found out in production:
nested input objects and lists of them (they would stay dicts), `Maybe` fields (Strawberry
wraps them in `Some`), `GlobalID` (decoded by Strawberry), lazy and generic types (what they
are is not known yet). Lists of scalars are copied, as Strawberry copies them: graphql-core
gives every request that omits a list the same default object.

`as_sent` goes further, for inputs whose resolver validates every record itself (marked
`validated_per_record`): no object is built at all, the resolver gets each value as the
mapping GraphQL holds, keyed by GraphQL names: from a variable, the client's JSON object
as sent (see learntwin_graphql.per_record); from an inline literal, the object
graphql-core coerced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from strawberry.relay.types import GlobalID
from strawberry.schema.name_converter import NameConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.field import UNRESOLVED, StrawberryField
from strawberry.types.lazy_type import LazyType

T = TypeVar("T")

Names = tuple[tuple[str, str], ...]  # (GraphQL name, Python name) of every field


def fast_input(cls: type[T]) -> type[T]:
    """Make a flat Strawberry input (scalars, enums and lists of them) build itself by
    renaming. Raises TypeError for an input it cannot build that way."""
    definition = getattr(cls, "__strawberry_definition__", None)
    if definition is None or not definition.is_input:
        raise TypeError(f"fast_input needs a Strawberry input type, not {cls!r}")
    fields: list[StrawberryField] = list(definition.fields)
    # Python name -> how deep the lists of that field nest (0: not a list). Checked
    # first: asking whether the input is generic would import what a lazy type names.
    depths = {field.python_name: _list_depth(cls, field) for field in fields}
    if definition.is_graphql_generic:
        raise TypeError(f"fast_input cannot build the generic input {cls.__name__}")
    lists = tuple((name, depth) for name, depth in depths.items() if depth)
    # Strawberry passes None for a nullable field the client left out that has no
    # default of its own (graphql-core leaves it out of the value).
    implicit = {
        field.python_name: None
        for field in fields
        if field.default_value is MISSING
        and field.default_factory is MISSING
        and isinstance(field.type, StrawberryOptional)
    }
    # The names for the last converter seen: one schema serves a process.
    last: tuple[NameConverter | None, Names] = (None, ())

    def names_for(converter: NameConverter) -> Names:
        nonlocal last
        last = (converter, tuple((converter.from_field(f), f.python_name) for f in fields))
        return last[1]

    def from_input(_cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        converter = context.config.name_converter
        names = last[1] if last[0] is converter else names_for(converter)
        kwargs = {python: value[graphql] for graphql, python in names if graphql in value}
        if implicit:
            kwargs = {**implicit, **kwargs}
        for python, depth in lists:
            if python in kwargs:
                kwargs[python] = _copied(kwargs[python], depth)
        return cls(**kwargs)

    definition.from_input = from_input
    return cls


def as_sent(cls: type[T]) -> type[T]:
    """Hand each value of a Strawberry input to resolvers as its GraphQL mapping, not as an
    instance of `cls`: for inputs whose resolver validates every field of every value
    itself, where building an object per value would only be undone again."""
    definition = getattr(cls, "__strawberry_definition__", None)
    if definition is None or not definition.is_input:
        raise TypeError(f"as_sent needs a Strawberry input type, not {cls!r}")

    def from_input(_cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        return value

    definition.from_input = from_input
    return cls


def _list_depth(cls: type, field: StrawberryField) -> int:
    """How many lists the field's type nests, once its scalar or enum is reached; a
    TypeError when the value is something renaming alone would build wrongly."""

    def refuse(why: str) -> TypeError:
        return TypeError(f"fast_input cannot build {cls.__name__}.{field.python_name}: {why}")

    try:
        type_: Any = field.type
    except Exception as exc:
        raise refuse(f"its type is not known yet ({exc})") from exc
    depth = 0
    while True:
        if isinstance(type_, StrawberryMaybe):
            raise refuse("Maybe fields are wrapped by Strawberry's own conversion")
        if isinstance(type_, StrawberryOptional):
            type_ = type_.of_type
        elif isinstance(type_, StrawberryList):
            depth += 1
            type_ = type_.of_type
        else:
            break
    if type_ is UNRESOLVED:  # a forward reference to a name not defined yet
        raise refuse("its type is not known yet (declare its types before it)")
    if isinstance(type_, LazyType):
        raise refuse("a lazy type is not known when the input is declared")
    if has_object_definition(type_):
        what = "a list of input objects" if depth else "a nested input object"
        raise refuse(f"{what} would stay a dict; use Strawberry's conversion")
    if type_ is GlobalID:
        raise refuse("GlobalID values are decoded by Strawberry's own conversion")
    if getattr(type_, "is_graphql_generic", False):
        raise refuse("its type is generic")
    return depth


def _copied(value: Any, depth: int) -> Any:
    if value is None:
        return None
    if depth == 1:
        return list(value)
    return [_copied(item, depth - 1) for item in value]
