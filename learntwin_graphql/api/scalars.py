"""Custom scalars: DateTime (inputs without an offset are UTC, outputs are UTC) and Date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from graphql import GraphQLError

from learntwin_graphql.timeutil import InvalidDateTime, format_datetime, parse_datetime


def _parse(value: Any) -> datetime | InvalidDateTime:
    try:
        return parse_datetime(value)
    except ValueError as exc:
        return InvalidDateTime(value, str(exc))


def _parse_date(value: Any) -> date:
    """A calendar date; anything else is a request error naming the value (never an
    unexpected one)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise GraphQLError(f"Expected a date as YYYY-MM-DD, got {value!r}.")


SCALAR_MAP: dict[object, Any] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="ISO-8601 date-time; inputs without an offset are UTC, outputs are UTC.",
        serialize=format_datetime,
        parse_value=_parse,
    ),
    date: strawberry.scalar(
        name="Date",
        description="ISO-8601 calendar date (YYYY-MM-DD).",
        serialize=date.isoformat,
        parse_value=_parse_date,
    ),
}
