"""Relay connections with opaque keyset cursors and a hard page-size maximum."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.timeutil import parse_datetime

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo


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


def build_connection(
    rows: Sequence[R], first: int, key: Callable[[R], Sequence[Any]], node: Callable[[R], T]
) -> Connection[T]:
    """`rows` holds up to first + 1 rows; the extra one only says there is a next page."""
    page = rows[:first]
    edges = [Edge(cursor=encode_cursor(key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )
