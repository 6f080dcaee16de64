"""Pure logic: record validation, mastery figures, recommendation rules, range splitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.metric_reads import plan_range
from ml.metrics import GRAPHQL_LABELS, MasteryStats, validate_batch
from ml.recommendations import Priority, TeachingAction, Thresholds, recommend

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GOOD = {
    "class_id": "c1",
    "student_id": "s1",
    "stuck": 0,
    "got_it": 1,
    "pause": 0,
    "example": 1,
    "confidence": 8,
}


def test_valid_record_defaults_to_now_and_normalises():
    valid, errors = validate_batch([{**GOOD, "student_id": 42, "class_id": "  c1 "}], NOW)
    assert errors == []
    (record,) = valid
    assert record.class_id == "c1" and record.student_id == "42"
    assert record.got_it is True and record.stuck is False
    assert record.ts == NOW and record.event_id is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"class_id": "   "}, "class_id"),
        ({"student_id": "x" * 65}, "student_id"),
        ({"confidence": 0.5}, "confidence"),
        ({"confidence": 10.5}, "confidence"),
        ({"confidence": float("nan")}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"stuck": 2}, "stuck"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": (NOW + timedelta(minutes=6)).isoformat()}, "timestamp"),
        ({"event_id": ""}, "event_id"),
        ({"pause": None}, "pause"),
    ],
)
def test_each_bad_field_is_named(change, field):
    valid, errors = validate_batch([GOOD, {**GOOD, **change}, GOOD], NOW)
    assert len(valid) == 2
    assert [(e.index, e.field) for e in errors] == [(1, field)]


def test_near_future_is_allowed_and_naive_is_utc():
    valid, errors = validate_batch(
        [
            {**GOOD, "timestamp": (NOW + timedelta(minutes=4)).isoformat()},
            {**GOOD, "timestamp": "2026-02-01T10:00:00"},
        ],
        NOW,
    )
    assert not errors
    assert valid[1].ts == datetime(2026, 2, 1, 10, tzinfo=UTC)


def test_graphql_labels_and_non_objects():
    _, errors = validate_batch([{**GOOD, "got_it": 5}, "nope"], NOW, labels=GRAPHQL_LABELS)
    assert errors[0].field == "gotIt" and errors[0].message.startswith("gotIt")
    assert errors[1].index == 1 and errors[1].field is None


def test_mastery_rates_null_without_records():
    empty = MasteryStats(class_id="c")
    assert empty.rate_stuck is None and empty.avg_confidence is None
    full = MasteryStats(class_id="c", population=4, stuck=1, got_it=3, confidence_sum=30)
    assert full.rate_stuck == 0.25 and full.rate_got_it == 0.75 and full.avg_confidence == 7.5


def _stats(n=100, stuck=0, got_it=0, pause=0, example=50, confidence=6.0):
    return MasteryStats(
        population=n,
        stuck=stuck,
        got_it=got_it,
        pause=pause,
        example=example,
        confidence_sum=confidence * n,
    )


def test_no_records_no_recommendations():
    assert recommend(MasteryStats()) == []


def test_recap_priorities():
    medium = recommend(_stats(stuck=30))
    assert [(r.action, r.priority) for r in medium] == [(TeachingAction.RECAP, Priority.MEDIUM)]
    assert "30%" in medium[0].rationale
    assert recommend(_stats(stuck=50))[0].priority is Priority.HIGH
    assert recommend(_stats(confidence=5.0))[0].action is TeachingAction.RECAP
    assert recommend(_stats(confidence=4.0))[0].priority is Priority.HIGH
    assert recommend(_stats(stuck=29, confidence=5.1)) == []


def test_examples_breaks_enrichment_and_order():
    rules = recommend(_stats(example=20, pause=50, got_it=80, confidence=8.0))
    assert [(r.action, r.priority) for r in rules] == [
        (TeachingAction.MICRO_BREAKS, Priority.HIGH),
        (TeachingAction.MORE_EXAMPLES, Priority.MEDIUM),
        (TeachingAction.ENRICHMENT, Priority.LOW),
    ]
    assert recommend(_stats(pause=30))[0].priority is Priority.MEDIUM
    assert recommend(_stats(got_it=80, confidence=7.4)) == []


def test_thresholds_are_configurable():
    strict = Thresholds(recap_stuck=0.1)
    assert recommend(_stats(stuck=10), strict)[0].action is TeachingAction.RECAP


def test_plan_range_uses_the_coarsest_whole_buckets():
    day = datetime(2026, 1, 1, tzinfo=UTC)
    h = timedelta(hours=1)
    assert plan_range(None, None) == [("metric_rollups_daily", None, None)]
    assert plan_range(day, day + timedelta(days=3)) == [
        ("metric_rollups_daily", day, day + timedelta(days=3))
    ]
    start = day + 10 * h + timedelta(minutes=20)
    end = day + timedelta(days=2, hours=3, minutes=5)
    assert plan_range(start, end) == [
        ("metric_rollups_daily", day + timedelta(days=1), day + timedelta(days=2)),
        ("metric_rollups", day + 11 * h, day + timedelta(days=1)),
        ("metrics", start, day + 11 * h),
        ("metric_rollups", day + timedelta(days=2), day + timedelta(days=2, hours=3)),
        ("metrics", day + timedelta(days=2, hours=3), end),
    ]
    inside_hour = (day + timedelta(minutes=5), day + timedelta(minutes=50))
    assert plan_range(*inside_hour) == [("metrics", *inside_hour)]
    assert plan_range(day + 2 * h, day + 5 * h) == [("metric_rollups", day + 2 * h, day + 5 * h)]
    assert plan_range(start, None) == [
        ("metric_rollups_daily", day + timedelta(days=1), None),
        ("metric_rollups", day + 11 * h, day + timedelta(days=1)),
        ("metrics", start, day + 11 * h),
    ]
    assert plan_range(None, day + 30 * h) == [
        ("metric_rollups_daily", None, day + timedelta(days=1)),
        ("metric_rollups", day + timedelta(days=1), day + 30 * h),
    ]
