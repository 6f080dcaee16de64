"""Datetimes in and out: inputs without an offset are UTC, outputs are always UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_datetime(value: str) -> datetime:
    """ISO-8601 (a trailing `Z` included); raises ValueError with a readable message,
    also for a time whose offset takes it outside years 1..9999 in UTC."""
    if not isinstance(value, str):
        raise ValueError("a date-time must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not an ISO-8601 date-time: {value!r}") from None
    try:
        return as_utc(parsed)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range in UTC") from None


class InvalidDateTime(str):
    """A DateTime input that did not parse, kept (with the reason) rather than refused
    during coercion, so that one bad record of a batch costs only that record. Arguments
    refuse it before any resolver runs (see argument_checks)."""

    reason: str

    def __new__(cls, raw: object, reason: str) -> InvalidDateTime:
        made = super().__new__(cls, raw if isinstance(raw, str) else repr(raw))
        made.reason = reason
        return made


def format_datetime(value: datetime) -> str:
    """ISO-8601 in UTC with a `Z` (what Python's isoformat gives, by orjson: five times
    faster, and this runs for every timestamp and cursor of a page)."""
    return orjson.dumps(as_utc(value), option=orjson.OPT_UTC_Z)[1:-1].decode()
