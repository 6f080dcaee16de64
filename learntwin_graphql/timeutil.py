"""Datetimes in and out: inputs without an offset are UTC, outputs are always UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_datetime(value: str) -> datetime:
    """ISO-8601 (a trailing `Z` included); raises ValueError with a readable message."""
    text = value.strip()
    try:
        return as_utc(datetime.fromisoformat(text))
    except (TypeError, ValueError):
        raise ValueError(f"not an ISO-8601 date-time: {value!r}") from None


def format_datetime(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")
