"""Argument values no resolver should ever see, refused once for the whole schema.

Every field taking a String, ID, DateTime or JSON argument (directly or inside an input
object or list) gets its resolver wrapped at schema build time: a NUL character (which
Postgres refuses in text and JSONB), a string over the length limit or a DateTime that
did not parse becomes BAD_USER_INPUT naming the argument, before the resolver runs. Input types whose records
are validated one by one (ingest, where one bad record must not cost its neighbours)
are left to their own validation, which reports each record by index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.timeutil import InvalidDateTime

T = TypeVar("T")
Check = Callable[[Any, str], None]

_CHECKS = "learntwin_argument_checks"  # where a field keeps its checks, by argument
# GraphQL names of input types validated record by record (see `validated_per_record`).
PER_RECORD_INPUTS: set[str] = set()


def validated_per_record(cls: type[T]) -> type[T]:
    """Mark a Strawberry input whose values its resolver validates one by one."""
    PER_RECORD_INPUTS.add(cls.__strawberry_definition__.name)  # type: ignore[attr-defined]
    return cls


def _scalar_checks(max_string: int) -> dict[str, Check]:
    """The check of each scalar that needs one, by its GraphQL name."""

    def text(value: Any, path: str) -> None:
        if not isinstance(value, str):
            return
        if "\x00" in value:
            raise BadUserInput(f"`{path}` must not contain NUL characters.", field=path)
        if len(value) > max_string:
            raise BadUserInput(
                f"`{path}` is longer than {max_string} characters.",
                field=path,
                maximum=max_string,
            )

    def date_time(value: Any, path: str) -> None:
        if isinstance(value, InvalidDateTime):
            raise BadUserInput(f"`{path}`: {value.reason}.", field=path)

    def json(value: Any, path: str) -> None:
        if isinstance(value, str):
            text(value, path)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                text(key, f"{path}.{key}")
                json(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                json(item, f"{path}.{index}")

    return {"String": text, "ID": text, "DateTime": date_time, "JSON": json}


def _check_for(
    type_: Any, seen: dict[str, Check | None], scalars: dict[str, Check]
) -> Check | None:
    """How to check one value of `type_`; None when nothing in it needs checking."""
    if isinstance(type_, GraphQLNonNull):
        return _check_for(type_.of_type, seen, scalars)
    if isinstance(type_, GraphQLList):
        item = _check_for(type_.of_type, seen, scalars)
        if item is None:
            return None

        def each(value: Any, path: str) -> None:
            for index, element in enumerate(value if isinstance(value, list) else ()):
                if element is not None:
                    item(element, f"{path}.{index}")

        return each
    if isinstance(type_, GraphQLScalarType):
        return scalars.get(type_.name)
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name in PER_RECORD_INPUTS:
            return None
        if type_.name in seen:  # a recursive input: checked through its first visit
            return seen[type_.name] or _deferred(type_.name, seen)
        seen[type_.name] = None
        fields = {
            name: check
            for name, field in type_.fields.items()
            if (check := _check_for(field.type, seen, scalars)) is not None
        }
        seen[type_.name] = _object(fields) if fields else None
        return seen[type_.name]
    return None


def _deferred(name: str, seen: dict[str, Check | None]) -> Check:
    def check(value: Any, path: str) -> None:
        found = seen.get(name)
        if found is not None:
            found(value, path)

    return check


def _object(fields: dict[str, Check]) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for name, field_check in fields.items():
                item = value.get(name)
                if item is not None:
                    field_check(item, f"{path}.{name}")

    return check


def _wrap(resolve: Callable[..., Any], checks: dict[str, Check]) -> Callable[..., Any]:
    if getattr(resolve, "_checked", False):
        return resolve

    def checked(source: Any, info: Any, **arguments: Any) -> Any:
        for name, check in checks.items():
            value = arguments.get(name)
            if value is not None:
                check(value, name)
        return resolve(source, info, **arguments)

    checked._checked = True  # type: ignore[attr-defined]
    return checked


def install(schema: GraphQLSchema, max_string: int) -> int:
    """Wrap the resolvers (and subscription sources) of every field whose arguments need
    checking; returns how many fields were wrapped."""
    seen: dict[str, Check | None] = {}
    scalars = _scalar_checks(max_string)
    wrapped = 0
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            checks = _argument_checks(field, seen, scalars)
            if not checks:
                continue
            field.extensions = {**(field.extensions or {}), _CHECKS: checks}
            if field.subscribe is not None:
                field.subscribe = _wrap(field.subscribe, checks)
            elif field.resolve is not None:
                field.resolve = _wrap(field.resolve, checks)
            else:
                continue
            wrapped += 1
    return wrapped


def check(field: GraphQLField, arguments: Mapping[str, Any]) -> None:
    """The checks of `field` on coerced `arguments`, for callers that resolve it without
    its wrapped resolver (batched fields)."""
    for name, field_check in (field.extensions or {}).get(_CHECKS, {}).items():
        value = arguments.get(name)
        if value is not None:
            field_check(value, name)


def _argument_checks(
    field: GraphQLField, seen: dict[str, Check | None], scalars: dict[str, Check]
) -> dict[str, Check]:
    return {
        name: check
        for name, argument in field.args.items()
        if (check := _check_for(argument.type, seen, scalars)) is not None
    }
