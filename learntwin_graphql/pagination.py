"""Relay connections with opaque keyset cursors and a hard page-size maximum."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import strawberry
from graphql import GraphQLObjectType, GraphQLSchema, get_named_type

from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.timeutil import parse_datetime

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(
    description="Where a page of a connection lies in its list (Relay). Cursors are opaque "
    "strings: pass one back as `after` (or `before` where a list pages backwards) and never "
    "build or parse them."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Whether items follow this page: ask again with `after: endCursor`. "
        "When paging backwards (`last`/`before`): true when `before` was given."
    )
    has_previous_page: bool = strawberry.field(
        description="Whether items precede this page. Paging forwards: true when the page "
        "was asked for with an `after` cursor. Paging backwards (`last`): whether older "
        "items remain, to fetch with `before: startCursor`."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first edge; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last edge; null when the page is empty."
    )


@strawberry.type(
    description="One item of a connection's page, with the cursor that marks its place."
)
class Edge(Generic[T]):
    cursor: str = strawberry.field(
        description="Opaque position of this item: pass it as `after` for the items that follow it."
    )
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list (a Relay connection), in the list's order.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(
        description="The page's items in order; empty past the end of the list."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more items lie before or after this page, and its cursors."
    )


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


# What a cursor position may hold: an id (text), a row number or a UTC timestamp.
CursorPart = type[str] | type[int] | type[datetime]
_MAX_KEY_TEXT = 1000


def _bad_cursor() -> BadUserInput:
    return BadUserInput("`after` is not a valid cursor.", field="after")


def _part(value: Any, kind: CursorPart) -> Any:
    if kind is int:
        if type(value) is not int or not 0 <= value < 2**63:
            raise _bad_cursor()
        return value
    if type(value) is not str or len(value) > _MAX_KEY_TEXT or "\x00" in value:
        raise _bad_cursor()
    if kind is datetime:
        try:
            return parse_datetime(value)
        except ValueError:
            raise _bad_cursor() from None
    return value


def decode_cursor(cursor: str | None, *kinds: CursorPart) -> tuple[Any, ...] | None:
    """The keyset position behind a cursor, one value per kind (str, int or datetime);
    BAD_USER_INPUT when it is not a cursor we issue for this list."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise _bad_cursor() from None
    if not isinstance(key, list) or len(key) != len(kinds):
        raise _bad_cursor()
    return tuple(_part(value, kind) for value, kind in zip(key, kinds, strict=True))


def after_position(after: str | None, kind: CursorPart) -> Any:
    """The one-part keyset position behind `after`, None without a cursor."""
    key = decode_cursor(after, kind)
    return key[0] if key is not None else None


def check_first(first: int, maximum: int) -> int:
    if first < 0 or first > maximum:
        raise BadUserInput(
            f"`first` must be between 0 and {maximum}.", field="first", maximum=maximum
        )
    return first


def _connection(
    page: Sequence[R],
    key: Callable[[R], Sequence[Any]],
    node: Callable[[R], T],
    *,
    has_next_page: bool,
    has_previous_page: bool,
) -> Connection[T]:
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next_page,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
        ),
    )


def build_connection(
    rows: Sequence[R],
    first: int,
    key: Callable[[R], Sequence[Any]],
    node: Callable[[R], T],
    *,
    after: str | None = None,
) -> Connection[T]:
    """A forward page: `rows` holds up to first + 1 rows; the extra one only says there
    is a next page. `after` is the cursor the page was asked for after, if any: items
    precede a page that starts after one (hasPreviousPage)."""
    return _connection(
        rows[:first],
        key,
        node,
        has_next_page=len(rows) > first,
        has_previous_page=after is not None,
    )


def build_backward_connection(
    rows: Sequence[R],
    last: int,
    key: Callable[[R], Sequence[Any]],
    node: Callable[[R], T],
    *,
    before: str | None = None,
) -> Connection[T]:
    """A backward page: `rows` holds up to last + 1 rows newest first; the extra, oldest
    one only says older items remain (hasPreviousPage). The page is given oldest first,
    and items follow it when it was asked for `before` a cursor (hasNextPage)."""
    return _connection(
        list(reversed(rows[:last])),
        key,
        node,
        has_next_page=before is not None,
        has_previous_page=len(rows) > last,
    )


def describe_connections(schema: GraphQLSchema) -> None:
    """Names the item type in each specialised Connection and Edge's description (the
    generic classes can only say "an item")."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        fields = named.fields
        if set(fields) == {"edges", "pageInfo"}:
            edge = get_named_type(fields["edges"].type)
            if isinstance(edge, GraphQLObjectType) and "node" in edge.fields:
                item_name = get_named_type(edge.fields["node"].type).name
                named.description = (
                    f"One page of a list of {item_name} (a Relay connection), in the list's order."
                )
        elif set(fields) == {"cursor", "node"}:
            item_name = get_named_type(fields["node"].type).name
            named.description = (
                f"One {item_name} of a connection's page, with the cursor that marks its place."
            )
