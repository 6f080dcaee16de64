"""Custom scalars: DateTime (inputs without an offset are UTC, outputs are UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from learntwin_graphql.timeutil import format_datetime, parse_datetime


def _parse(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string")
    return parse_datetime(value)


SCALAR_MAP: dict[object, Any] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="ISO-8601 date-time; inputs without an offset are UTC, outputs are UTC.",
        serialize=format_datetime,
        parse_value=_parse,
    )
}
