"""Metric records: validation of what clients send, and the mastery figures over them.

`validate_batch` is the one validator of ingested records, for every route: the seed's
REST JSON (snake_case keys, 0/1 accepted for flags, numbers for ids) and GraphQL (the
input's camelCase names, values held to GraphQL's scalar rules). Each record is checked
on its own, so one bad record is reported by its index and never costs its neighbours.
The GraphQL server hands records over as the client sent them, without coercing their
fields first (that would refuse the whole request for one bad field), so GraphQL's
scalar rules are applied here, record by record.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
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
FIELDS = (
    "class_id",
    "student_id",
    *FLAGS,
    "confidence",
    "timestamp",
    "event_id",
    "lesson_id",
    "skill_id",
)
_SKILL_ID = re.compile(r"[a-z0-9-]{1,64}")
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
    # A lesson or skill the record is about: soft evidence for the learner model.
    lesson_id: str | None = None
    skill_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordError:
    index: int
    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class RecordForm:
    """How one kind of client writes records: the key of each field (also the name its
    errors give it), and whether values follow GraphQL's scalar rules (Boolean only
    true/false, String only a string, ID a string or an integer) or the seed's JSON,
    which also takes 0/1 for flags and numbers for every id."""

    keys: Mapping[str, str]
    graphql_scalars: bool = False


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


def _graphql_id(value: Any, field: str) -> str:
    """GraphQL's ID: a string, an integer, or a float that is one (5.0 is "5")."""
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    return _identifier(value, field, integers=True)


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


def _graphql_flag(value: Any, field: str) -> bool:
    if value is True or value is False:
        return value
    raise _Invalid(field, "must be true or false")


def _confidence(value: Any, field: str) -> float:
    kind = type(value)
    if (kind is int or kind is float) and CONFIDENCE_MIN <= value <= CONFIDENCE_MAX:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid(field, "must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise _Invalid(field, "must be between 1 and 10") from None
    if not math.isfinite(number) or not CONFIDENCE_MIN <= number <= CONFIDENCE_MAX:
        raise _Invalid(field, "must be between 1 and 10")
    return number


def _timestamp(value: Any, field: str, now: datetime, latest: datetime) -> datetime:
    if value is None:
        return now
    if type(value) is not datetime:  # a string, or a value GraphQL could not parse
        if not isinstance(value, str):
            raise _Invalid(field, "must be an ISO-8601 date-time")
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid(field, "must be an ISO-8601 date-time") from None
    zone = value.tzinfo
    try:
        if zone is UTC:  # what an offset of +00:00 or Z parses to: nothing to convert
            ts = value
        elif zone is None:
            ts = value.replace(tzinfo=UTC)
        else:
            ts = value.astimezone(UTC)
    except OverflowError:
        raise _Invalid(field, f"must be in the years {FIRST_YEAR}..{LAST_YEAR}") from None
    if not FIRST_YEAR <= ts.year <= LAST_YEAR:
        raise _Invalid(field, f"must be in the years {FIRST_YEAR}..{LAST_YEAR}")
    if ts > latest:
        raise _Invalid(field, "must not be more than 5 minutes in the future")
    return ts


REQUIRED = ("class_id", "student_id", *FLAGS, "confidence")
# The GraphQL names of the fields (MetricInput's), where they differ from the seed's REST
# names (snake_case): how GraphQL records are keyed, and how their errors name fields.
GRAPHQL_LABELS = {
    "class_id": "classId",
    "student_id": "studentId",
    "got_it": "gotIt",
    "timestamp": "timestamp",
    "event_id": "eventId",
    "lesson_id": "lessonId",
    "skill_id": "skillId",
}
# The seed's REST JSON: snake_case keys, its looser values.
REST_FORM = RecordForm({field: field for field in FIELDS})
# What `ingestMetrics` hands over: MetricInput's GraphQL names, GraphQL's scalar rules.
GRAPHQL_FORM = RecordForm({**REST_FORM.keys, **GRAPHQL_LABELS}, graphql_scalars=True)


def _validator(now: datetime, form: RecordForm) -> Callable[[Mapping[str, Any]], MetricRecord]:
    """A function checking one record on its own (raising `_Invalid` naming the first bad
    field), for one batch: the ids it has seen valid are remembered, as a batch names the
    same few classes and students over and over."""
    keys = form.keys
    k_class, k_student = keys["class_id"], keys["student_id"]
    k_stuck, k_got_it, k_pause, k_example = (keys[f] for f in FLAGS)
    k_confidence, k_timestamp, k_event = keys["confidence"], keys["timestamp"], keys["event_id"]
    k_lesson, k_skill = keys["lesson_id"], keys["skill_id"]
    flag = _graphql_flag if form.graphql_scalars else _flag
    any_id: Callable[[Any, str], str] = (
        _graphql_id if form.graphql_scalars else lambda v, f: _identifier(v, f, integers=True)
    )
    # GraphQL's eventId is a String; the seed's JSON also takes a number.
    event_integers = not form.graphql_scalars
    latest = now + FUTURE_TOLERANCE
    known: dict[str, str] = {}  # ids seen valid in this batch -> their cleaned form

    def identifier(value: Any, field: str) -> str:
        if type(value) is str:
            cleaned = known.get(value)
            if cleaned is None:
                cleaned = known[value] = _identifier(value, field)
            return cleaned
        return any_id(value, field)

    def validate(raw: Mapping[str, Any]) -> MetricRecord:
        get = raw.get
        class_id, student_id = get(k_class), get(k_student)
        stuck, got_it, pause, example = get(k_stuck), get(k_got_it), get(k_pause), get(k_example)
        confidence = get(k_confidence)
        if (
            class_id is None
            or student_id is None
            or stuck is None
            or got_it is None
            or pause is None
            or example is None
            or confidence is None
        ):
            values = (class_id, student_id, stuck, got_it, pause, example, confidence)
            raise _Invalid(REQUIRED[values.index(None)], "is required")
        event_id, lesson_id, skill_id = get(k_event), get(k_lesson), get(k_skill)
        if skill_id is not None and not (type(skill_id) is str and _SKILL_ID.fullmatch(skill_id)):
            raise _Invalid("skill_id", "must be a skill id: 1..64 of a-z, 0-9 and '-'")
        return MetricRecord(
            identifier(class_id, "class_id"),
            identifier(student_id, "student_id"),
            flag(stuck, "stuck"),
            flag(got_it, "got_it"),
            flag(pause, "pause"),
            flag(example, "example"),
            _confidence(confidence, "confidence"),
            _timestamp(get(k_timestamp), "timestamp", now, latest),
            None
            if event_id is None
            else _identifier(event_id, "event_id", limit=EVENT_ID_MAX, integers=event_integers),
            None if lesson_id is None else any_id(lesson_id, "lesson_id"),
            skill_id,
        )

    return validate


def validate_record(
    raw: Mapping[str, Any], now: datetime, form: RecordForm = REST_FORM
) -> MetricRecord:
    """One record, checked on its own; raises `_Invalid` naming the first bad field."""
    return _validator(now, form)(raw)


def validate_batch(
    raws: Sequence[Any],
    now: datetime | None = None,
    labels: Mapping[str, str] | None = None,
    *,
    form: RecordForm = REST_FORM,
) -> tuple[list[MetricRecord], list[RecordError]]:
    """Valid records and, by index, the reasons the others were refused. Records are read
    by `form`'s keys, and errors name fields by them, or by `labels` when given."""
    validate = _validator(now or datetime.now(UTC), form)
    names = labels if labels is not None else form.keys
    valid: list[MetricRecord] = []
    append = valid.append
    errors: list[RecordError] = []
    for index, raw in enumerate(raws):
        if type(raw) is not dict and not isinstance(raw, Mapping):
            errors.append(RecordError(index, None, "record must be an object"))
            continue
        try:
            append(validate(raw))
        except _Invalid as invalid:
            field = names.get(invalid.field, invalid.field)
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
