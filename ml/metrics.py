"""Metric records: validation of what clients send, and the mastery figures over them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ID_MAX = 64
EVENT_ID_MAX = 128
CONFIDENCE_MIN, CONFIDENCE_MAX = 1.0, 10.0
FUTURE_TOLERANCE = timedelta(minutes=5)
# Metric timestamps outside these years are refused: no learning record is older than the
# epoch, and ranges over them can never overflow at the edges of the calendar.
FIRST_YEAR, LAST_YEAR = 1970, 2100
FLAGS = ("stuck", "got_it", "pause", "example")
# Ids end up in paths, file names and headers: no control characters there.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(slots=True)
class MetricRecord:
    class_id: str
    student_id: str
    stuck: bool
    got_it: bool
    pause: bool
    example: bool
    confidence: float
    ts: datetime
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordError:
    index: int
    field: str | None
    message: str


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def _identifier(value: Any, field: str, *, limit: int = ID_MAX, integers: bool = False) -> str:
    if (
        type(value) is str
        and 0 < len(value) <= limit
        and not value[0].isspace()
        and not value[-1].isspace()
        and _CONTROL.search(value) is None
    ):
        return value
    if integers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Invalid(field, "must be a string")
    cleaned = value.strip()
    if not cleaned:
        raise _Invalid(field, "must not be empty")
    if len(cleaned) > limit:
        raise _Invalid(field, f"must be at most {limit} characters")
    if _CONTROL.search(cleaned) is not None:
        raise _Invalid(field, "must not contain control characters (NUL, line breaks, …)")
    return cleaned


def _flag(value: Any, field: str) -> bool:
    if value is True or value is False:
        return value
    if type(value) is int and (value == 0 or value == 1):
        return value == 1
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _Invalid(field, "must be true/false or 0/1")


def _confidence(value: Any, field: str) -> float:
    kind = type(value)
    if (kind is int or kind is float) and CONFIDENCE_MIN <= value <= CONFIDENCE_MAX:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(field, "must be a number")
    number = float(value)
    if not math.isfinite(number) or not CONFIDENCE_MIN <= number <= CONFIDENCE_MAX:
        raise _Invalid(field, "must be between 1 and 10")
    return number


def _timestamp(value: Any, field: str, now: datetime) -> datetime:
    if value is None:
        return now
    if type(value) is not datetime:  # a string, or a value GraphQL could not parse
        if not isinstance(value, str):
            raise _Invalid(field, "must be an ISO-8601 date-time")
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid(field, "must be an ISO-8601 date-time") from None
    try:
        ts = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise _Invalid(field, f"must be in the years {FIRST_YEAR}..{LAST_YEAR}") from None
    if not FIRST_YEAR <= ts.year <= LAST_YEAR:
        raise _Invalid(field, f"must be in the years {FIRST_YEAR}..{LAST_YEAR}")
    if ts > now + FUTURE_TOLERANCE:
        raise _Invalid(field, "must not be more than 5 minutes in the future")
    return ts


REQUIRED = ("class_id", "student_id", *FLAGS, "confidence")
# Records are read by their snake_case keys (the seed's REST names, and the Python names
# of the GraphQL input); errors name fields the way the client spelled them.
GRAPHQL_LABELS = {
    "class_id": "classId",
    "student_id": "studentId",
    "got_it": "gotIt",
    "timestamp": "timestamp",
    "event_id": "eventId",
}


def validate_record(raw: Mapping[str, Any], now: datetime) -> MetricRecord:
    """One record, checked on its own; raises `_Invalid` naming the first bad field."""
    for key in REQUIRED:
        if raw.get(key) is None:
            raise _Invalid(key, "is required")
    event_id = raw.get("event_id")
    return MetricRecord(
        class_id=_identifier(raw["class_id"], "class_id", integers=True),
        student_id=_identifier(raw["student_id"], "student_id", integers=True),
        stuck=_flag(raw["stuck"], "stuck"),
        got_it=_flag(raw["got_it"], "got_it"),
        pause=_flag(raw["pause"], "pause"),
        example=_flag(raw["example"], "example"),
        confidence=_confidence(raw["confidence"], "confidence"),
        ts=_timestamp(raw.get("timestamp"), "timestamp", now),
        event_id=None
        if event_id is None
        else _identifier(event_id, "event_id", limit=EVENT_ID_MAX, integers=True),
    )


def validate_batch(
    raws: Sequence[Any], now: datetime | None = None, labels: Mapping[str, str] | None = None
) -> tuple[list[MetricRecord], list[RecordError]]:
    """Valid records and, by index, the reasons the others were refused."""
    now = now or datetime.now(UTC)
    valid: list[MetricRecord] = []
    errors: list[RecordError] = []
    for index, raw in enumerate(raws):
        if type(raw) is not dict and not isinstance(raw, Mapping):
            errors.append(RecordError(index, None, "record must be an object"))
            continue
        try:
            valid.append(validate_record(raw, now))
        except _Invalid as invalid:
            field = (labels or {}).get(invalid.field, invalid.field)
            errors.append(RecordError(index, field, f"{field} {invalid.message}"))
    return valid, errors


@dataclass(frozen=True, slots=True)
class MasteryStats:
    """Sums over a set of records; the rates are derived, null with no records."""

    class_id: str | None = None
    student_id: str | None = None
    population: int = 0
    students: int = 0
    stuck: int = 0
    got_it: int = 0
    pause: int = 0
    example: int = 0
    confidence_sum: float = 0.0
    last_timestamp: datetime | None = None

    def _rate(self, count: int) -> float | None:
        return count / self.population if self.population else None

    @property
    def rate_stuck(self) -> float | None:
        return self._rate(self.stuck)

    @property
    def rate_got_it(self) -> float | None:
        return self._rate(self.got_it)

    @property
    def rate_pause(self) -> float | None:
        return self._rate(self.pause)

    @property
    def rate_example(self) -> float | None:
        return self._rate(self.example)

    @property
    def avg_confidence(self) -> float | None:
        return self.confidence_sum / self.population if self.population else None
