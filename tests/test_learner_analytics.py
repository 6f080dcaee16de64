"""Learner dashboard analytics: streak, trend, pace, engagement, struggles, difficulty, insights."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml.learner_analytics import (
    ActivityEvent,
    EngagementResult,
    LessonEffort,
    PaceResult,
    SkillEvidence,
    StreakResult,
    Struggle,
    TrendResult,
    active_minutes,
    difficulty_advice,
    engagement,
    insights,
    local_days,
    median,
    pace,
    streak,
    struggling_topics,
    theil_sen,
    trend,
)

UTC_TZ = ZoneInfo("UTC")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TODAY = date(2025, 3, 12)  # a Wednesday
MONDAY = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def days_ago(*offsets: int) -> set[date]:
    return {TODAY - timedelta(days=n) for n in offsets}


# --- median -------------------------------------------------------------------------


def test_median_odd_even_and_empty() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None


# --- streak -------------------------------------------------------------------------


def test_a_missed_day_breaks_the_streak_without_forgiveness() -> None:
    result = streak(days_ago(0, 1, 3, 4), TODAY)
    assert result == StreakResult(2, 2, True, TODAY)


def test_a_streak_ending_yesterday_still_counts() -> None:
    result = streak(days_ago(1, 2, 3), TODAY)
    assert result.current == 3
    assert result.active_today is False
    assert result.last_active_date == TODAY - timedelta(days=1)


def test_a_streak_ending_before_yesterday_is_zero() -> None:
    result = streak(days_ago(2, 3, 4), TODAY)
    assert result.current == 0
    assert result.longest == 3


def test_today_only_is_a_one_day_streak() -> None:
    assert streak({TODAY}, TODAY) == StreakResult(1, 1, True, TODAY)


def test_longest_is_the_longest_run_ever_not_the_current_one() -> None:
    result = streak(days_ago(0, 1, 10, 11, 12, 13, 14), TODAY)
    assert (result.current, result.longest) == (2, 5)


def test_no_days_and_future_days() -> None:
    assert streak([], TODAY) == StreakResult(0, 0, False, None)
    # A day after today (clock or zone mismatch) neither extends nor ends the streak.
    result = streak(days_ago(0, -1), TODAY)
    assert result == StreakResult(1, 1, True, TODAY)


def test_local_days_follow_the_students_time_zone() -> None:
    late = ActivityEvent(datetime(2025, 3, 1, 23, 30, tzinfo=UTC), "QUIZ")
    assert local_days([late], UTC_TZ) == {date(2025, 3, 1)}
    assert local_days([late], TOKYO) == {date(2025, 3, 2)}  # 08:30 the next morning
    early = ActivityEvent(datetime(2025, 3, 2, 5, 0, tzinfo=UTC), "QUIZ")
    assert local_days([early], LOS_ANGELES) == {date(2025, 3, 1)}  # 21:00 the evening before
    assert local_days([late, early], TOKYO) == {date(2025, 3, 2)}
    assert local_days([late, early], LOS_ANGELES) == {date(2025, 3, 1)}
    assert local_days([late, early], UTC_TZ) == {date(2025, 3, 1), date(2025, 3, 2)}


@given(st.sets(st.integers(min_value=-3, max_value=60), max_size=40))
def test_current_streak_never_exceeds_longest(offsets: set[int]) -> None:
    result = streak(days_ago(*offsets), TODAY)
    assert 0 <= result.current <= result.longest <= len(offsets)
    assert result.active_today == (0 in offsets)


# --- trend --------------------------------------------------------------------------


def weekly(*means: float, per_week: int = 2) -> list[tuple[datetime, float]]:
    """Attempts whose weekly means are `means` (each week's scores mean ± 5)."""
    attempts = []
    for week, mean in enumerate(means):
        for i in range(per_week):
            offset = 5.0 * (1 if i % 2 else -1) if per_week % 2 == 0 else 0.0
            attempts.append((MONDAY + timedelta(weeks=week, hours=i), mean + offset))
    return attempts


def test_trend_at_exactly_plus_two_is_improving() -> None:
    result = trend(weekly(60, 62, 64), UTC_TZ)
    assert result.direction == "IMPROVING"
    assert result.slope_per_week == pytest.approx(2.0)


def test_trend_just_under_two_is_stable() -> None:
    result = trend(weekly(60, 61.9, 63.8), UTC_TZ)
    assert result.direction == "STABLE"


def test_trend_at_exactly_minus_two_is_declining() -> None:
    assert trend(weekly(80, 78, 76), UTC_TZ).direction == "DECLINING"
    assert trend(weekly(80, 78.1, 76.2), UTC_TZ).direction == "STABLE"


def test_three_attempts_are_insufficient() -> None:
    result = trend(weekly(50, 70, 90, per_week=1), UTC_TZ)
    assert result.direction == "INSUFFICIENT_DATA"
    assert result.slope_per_week is None
    assert len(result.points) == 3  # the chart still gets its points


def test_five_attempts_in_one_week_are_insufficient() -> None:
    attempts = [(MONDAY + timedelta(days=i), 50.0 + 10 * i) for i in range(5)]
    result = trend(attempts, UTC_TZ)
    assert result == TrendResult("INSUFFICIENT_DATA", None, result.points)
    assert len(result.points) == 1
    assert result.points[0].attempts == 5
    assert result.points[0].average_score == 70.0


def test_weeks_are_local_mondays_sorted_and_gaps_count_as_weeks() -> None:
    sunday_night_utc = datetime(2025, 3, 9, 20, 0, tzinfo=UTC)  # Monday 05:00 in Tokyo
    attempts = [
        (MONDAY + timedelta(weeks=3), 90.0),
        (sunday_night_utc, 70.0),
        (MONDAY, 60.0),
        (MONDAY + timedelta(hours=1), 60.0),
    ]
    utc_weeks = [p.week for p in trend(attempts, UTC_TZ).points]
    assert utc_weeks == [date(2025, 3, 3), date(2025, 3, 24)]
    tokyo = trend(attempts, TOKYO)
    assert [p.week for p in tokyo.points] == [
        date(2025, 3, 3),
        date(2025, 3, 10),
        date(2025, 3, 24),
    ]
    # x is weeks since the first week (0, 1, 3): slopes 10, 10, 20/2 → 10 a week.
    assert tokyo.slope_per_week == pytest.approx(10.0)


def test_theil_sen_ignores_one_outlier() -> None:
    points = [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 100.0)]
    assert theil_sen(points) == pytest.approx(1.0)


def test_theil_sen_needs_two_distinct_x() -> None:
    assert theil_sen([]) is None
    assert theil_sen([(1.0, 5.0)]) is None
    assert theil_sen([(1.0, 5.0), (1.0, 9.0)]) is None


@given(
    st.floats(min_value=-50, max_value=50),
    st.floats(min_value=-100, max_value=100),
    st.sets(st.integers(min_value=0, max_value=52), min_size=2, max_size=20),
)
def test_theil_sen_of_an_exact_line_is_its_slope(
    slope: float, intercept: float, xs: set[int]
) -> None:
    points = [(float(x), intercept + slope * x) for x in xs]
    result = theil_sen(points)
    assert result == pytest.approx(slope, abs=1e-6)


# --- pace ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "status"),
    [(121, "AHEAD"), (120, "ON_TRACK"), (100, "ON_TRACK"), (80, "ON_TRACK"), (79, "BEHIND")],
)
def test_pace_status_boundaries(actual: int, status: str) -> None:
    result = pace(actual, 100, None, TODAY, None)
    assert result.status == status
    assert result.ratio == pytest.approx(actual / 100)


def test_no_plan() -> None:
    result = pace(90, None, 300, TODAY, None)
    assert result == PaceResult("NO_PLAN", None, 90, None, None, TODAY + timedelta(days=24))
    assert pace(90, 0, None, TODAY, None).status == "NO_PLAN"


def test_required_minutes_per_week() -> None:
    in_ten_days = TODAY + timedelta(days=10)
    assert pace(0, 60, 100, TODAY, in_ten_days).required_minutes_per_week == 70
    assert pace(0, 60, 101, TODAY, in_ten_days).required_minutes_per_week == 71  # ceil(70.7)
    assert pace(0, 60, 100, TODAY, TODAY).required_minutes_per_week == 700  # one day left
    past = TODAY - timedelta(days=3)
    assert pace(0, 60, 100, TODAY, past).required_minutes_per_week == 100
    assert pace(0, 60, 100, TODAY, None).required_minutes_per_week == 60
    assert pace(0, 60, None, TODAY, in_ten_days).required_minutes_per_week is None


def test_projected_completion_date() -> None:
    assert pace(120, 60, 240, TODAY, None).projected_completion_date == TODAY + timedelta(days=14)
    # Nothing done last week: the plan's rate; 90 / 60 weeks = 10.5 days → 11.
    assert pace(0, 60, 90, TODAY, None).projected_completion_date == TODAY + timedelta(days=11)
    assert pace(0, 60, 0, TODAY, None).projected_completion_date == TODAY
    assert pace(0, None, 0, TODAY, None).projected_completion_date == TODAY
    assert pace(0, None, 90, TODAY, None).projected_completion_date is None
    assert pace(30, 60, None, TODAY, None).projected_completion_date is None


# --- engagement ---------------------------------------------------------------------


def lesson(at: datetime, seconds: int, content_type: str = "VIDEO") -> ActivityEvent:
    return ActivityEvent(at, "LESSON", seconds, content_type)


def quiz(at: datetime) -> ActivityEvent:
    return ActivityEvent(at, "QUIZ")


def test_active_minutes_window_is_half_open_and_rounds_down() -> None:
    events = [lesson(MONDAY, 119), lesson(MONDAY + timedelta(hours=1), 61)]
    assert active_minutes(events, MONDAY, MONDAY + timedelta(hours=1)) == 1
    assert active_minutes(events, MONDAY, MONDAY + timedelta(hours=1, seconds=1)) == 3
    assert active_minutes(events, MONDAY + timedelta(seconds=1), MONDAY + timedelta(days=1)) == 1


def test_a_gap_of_exactly_thirty_minutes_keeps_one_session() -> None:
    first = lesson(MONDAY, 600)  # 11:50-12:00
    second = lesson(MONDAY + timedelta(minutes=40), 600)  # starts 12:30: a 30-minute gap
    result = engagement([second, first], UTC_TZ)
    assert result.sessions == 1
    assert result.median_session_minutes == 50.0


def test_a_gap_of_thirty_one_minutes_splits_sessions() -> None:
    first = lesson(MONDAY, 600)
    second = lesson(MONDAY + timedelta(minutes=41), 600)  # starts 12:31
    result = engagement([first, second], UTC_TZ)
    assert result.sessions == 2
    assert result.median_session_minutes == 10.0


def test_median_session_minutes_and_quiz_only_sessions() -> None:
    events = [
        quiz(MONDAY),
        quiz(MONDAY + timedelta(minutes=5)),  # quiz-only session: its 5-minute span
        lesson(MONDAY + timedelta(hours=3), 1200),  # 20 minutes
        lesson(MONDAY + timedelta(hours=6), 3600),  # 60 minutes
    ]
    result = engagement(events, UTC_TZ)
    assert result.sessions == 3
    assert result.median_session_minutes == 20.0


def test_no_events() -> None:
    assert engagement([], UTC_TZ) == EngagementResult((), (), 0, None, None)


def test_peak_hours_rank_minutes_then_events_then_hour_in_local_time() -> None:
    day = datetime(2025, 3, 3, tzinfo=UTC)
    events = [
        lesson(day.replace(hour=11), 600),  # 20:00 in Tokyo: 10 minutes
        lesson(day.replace(hour=2), 300),  # 11:00: 5 minutes, two events
        quiz(day.replace(hour=2, minute=30)),
        lesson(day.replace(hour=1), 300),  # 10:00: 5 minutes, one event
        lesson(day.replace(hour=0), 300),  # 09:00: 5 minutes, one event
        quiz(day.replace(hour=5)),  # 14:00: no minutes
    ]
    result = engagement(events, TOKYO)
    assert result.peak_hours == ((20, 10), (11, 5), (9, 5))


def test_peak_weekdays_top_two_with_ties() -> None:
    events = [
        lesson(MONDAY, 600),  # Monday
        lesson(MONDAY + timedelta(days=2), 600),  # Wednesday
        lesson(MONDAY + timedelta(days=4), 600),  # Friday: ties Wednesday, one event
        quiz(MONDAY + timedelta(days=2, hours=1)),  # Wednesday's second event
        lesson(MONDAY + timedelta(days=6), 60),  # Sunday
    ]
    assert engagement(events, UTC_TZ).peak_weekdays == ("WEDNESDAY", "MONDAY")


def test_preferred_content_type() -> None:
    events = [
        lesson(MONDAY, 600, "VIDEO"),
        lesson(MONDAY + timedelta(hours=1), 300, "TEXT"),
        lesson(MONDAY + timedelta(hours=2), 300, "TEXT"),
        ActivityEvent(MONDAY + timedelta(hours=3), "TUTOR", 5000, "CHAT"),  # not a lesson
    ]
    assert engagement(events, UTC_TZ).preferred_content_type == "TEXT"  # same time, more events
    tied = [lesson(MONDAY, 600, "VIDEO"), lesson(MONDAY + timedelta(hours=1), 600, "ARTICLE")]
    assert engagement(tied, UTC_TZ).preferred_content_type == "ARTICLE"
    more = [lesson(MONDAY, 601, "VIDEO"), lesson(MONDAY + timedelta(hours=1), 600, "ARTICLE")]
    assert engagement(more, UTC_TZ).preferred_content_type == "VIDEO"
    assert engagement([quiz(MONDAY)], UTC_TZ).preferred_content_type is None


# --- struggling topics ----------------------------------------------------------------


def skill(
    p: float = 0.7,
    opportunities: int = 5,
    recent: tuple[bool, ...] = (True, True, True, True, False),
    skill_id: str = "s1",
) -> SkillEvidence:
    return SkillEvidence(skill_id, skill_id.upper(), p, opportunities, recent)


def effort(
    active_seconds: int = 300,
    completion: float = 0.8,
    pauses: int = 0,
    rewinds: int = 0,
    skill_ids: tuple[str, ...] = ("s1",),
) -> LessonEffort:
    return LessonEffort("l1", skill_ids, active_seconds, 10, completion, pauses, rewinds)


def signals(
    evidence: SkillEvidence, efforts: tuple[LessonEffort, ...] = (), stuck: float | None = None
) -> tuple[str, ...]:
    found = struggling_topics([evidence], efforts, stuck)
    return found[0].signals if found else ()


def test_a_skill_without_signals_is_not_listed() -> None:
    assert struggling_topics([skill()], [effort()], 0.1) == []


def test_wheel_spinning_boundary() -> None:
    assert signals(skill(0.94, 10)) == ("WHEEL_SPINNING",)
    assert signals(skill(0.94, 9)) == ()
    assert signals(skill(0.95, 10)) == ()
    assert struggling_topics([skill(0.94, 10)], [], None)[0].severity == "HIGH"


def test_low_mastery_boundary() -> None:
    assert signals(skill(0.39, 3)) == ("LOW_MASTERY",)
    assert signals(skill(0.39, 2)) == ()
    assert signals(skill(0.40, 3)) == ()


def test_low_accuracy_needs_five_recent_outcomes() -> None:
    assert signals(skill(recent=(True, True, False, False, False))) == ("LOW_ACCURACY",)
    assert signals(skill(recent=(True, True, True, False, False))) == ()  # 0.6
    assert signals(skill(recent=(False, False, False, False))) == ()
    # Only the newest five count.
    assert signals(skill(recent=(False, False, True, True, True, False, False))) == ()


def test_slow_progress_boundary() -> None:
    assert signals(skill(), (effort(1201, 0.49),)) == ("SLOW_PROGRESS",)
    assert signals(skill(), (effort(1200, 0.49),)) == ()  # exactly twice the 10 minutes
    assert signals(skill(), (effort(1201, 0.5),)) == ()
    assert signals(skill(), (effort(1201, 0.49, skill_ids=("s2",)),)) == ()  # teaches another
    no_estimate = LessonEffort("l2", ("s1",), 5000, 0, 0.1, 0, 0)
    assert signals(skill(), (no_estimate,)) == ()


def test_pauses_and_rewinds_boundaries() -> None:
    assert signals(skill(), (effort(pauses=11),)) == ("FREQUENT_PAUSES",)
    assert signals(skill(), (effort(pauses=10),)) == ()
    assert signals(skill(), (effort(rewinds=9),)) == ("FREQUENT_REWINDS",)
    assert signals(skill(), (effort(rewinds=8),)) == ()


def test_stuck_self_report_only_on_weak_or_flagged_skills() -> None:
    alone = struggling_topics([skill(0.59)], [], 0.30)
    assert [(s.signals, s.severity) for s in alone] == [(("STUCK_SELF_REPORT",), "LOW")]
    assert signals(skill(0.59), stuck=0.29) == ()
    assert signals(skill(0.6), stuck=0.9) == ()
    assert signals(skill(0.39, 3), stuck=0.30) == ("LOW_MASTERY", "STUCK_SELF_REPORT")


def test_severity_and_order() -> None:
    found = struggling_topics(
        [
            skill(0.5, recent=(False,) * 5, skill_id="b"),  # one signal: MEDIUM
            skill(0.3, 3, skill_id="c"),  # one signal, lower mastery: MEDIUM
            skill(0.35, 3, (False,) * 5, skill_id="d"),  # two signals: HIGH
            skill(0.9, 12, skill_id="a"),  # wheel spinning alone: HIGH
            skill(0.3, 4, skill_id="a2"),  # ties c on mastery: skill id decides
        ],
        [],
        None,
    )
    assert [(s.skill_id, s.severity) for s in found] == [
        ("d", "HIGH"),
        ("a", "HIGH"),
        ("a2", "MEDIUM"),
        ("c", "MEDIUM"),
        ("b", "MEDIUM"),
    ]


def test_reason_has_the_numbers() -> None:
    fractions = SkillEvidence("f", "Fractions", 0.41, 12, (True, False, False, True, False))
    [found] = struggling_topics([fractions], [], None)
    assert found.signals == ("WHEEL_SPINNING", "LOW_ACCURACY")
    assert found.recent_accuracy == pytest.approx(0.4)
    assert found.reason == "Fractions: 12 attempts and mastery still 0.41; 2 of the last 5 right."
    slow = LessonEffort("l", ("f",), 1500, 10, 0.3, 12, 9)
    [found] = struggling_topics([fractions], [slow], 0.4)
    assert "2.5 times the estimated time on a lesson 30% done" in found.reason
    assert "12 pauses" in found.reason and "9 rewinds" in found.reason
    assert "40% of class check-ins" in found.reason
    assert found.reason.endswith("this week.") and ". " not in found.reason  # one sentence


# --- difficulty ---------------------------------------------------------------------


def answers(right: int, total: int) -> list[bool]:
    return [True] * right + [False] * (total - right)


@pytest.mark.parametrize(
    ("right", "suggested"), [(19, 6), (18, 5), (14, 5), (13, 4)]
)  # 95 %, 90 %, 70 %, 65 % of 20
def test_difficulty_boundaries(right: int, suggested: int) -> None:
    result = difficulty_advice(5, answers(right, 20))
    assert result.suggested == suggested
    assert result.recent_accuracy == pytest.approx(right / 20)
    assert result.answers_considered == 20
    assert f"{right} of the last 20" in result.reason


def test_only_the_last_window_counts() -> None:
    result = difficulty_advice(5, [False] * 10 + [True] * 20)
    assert (result.suggested, result.answers_considered, result.recent_accuracy) == (6, 20, 1.0)
    assert difficulty_advice(5, [False] * 10 + [True] * 5, window=5).suggested == 6


def test_difficulty_is_clamped_to_one_and_ten() -> None:
    assert difficulty_advice(10, [True] * 20).suggested == 10
    assert "already at level 10" in difficulty_advice(10, [True] * 20).reason
    assert difficulty_advice(1, [False] * 20).suggested == 1
    high = difficulty_advice(15, [True] * 10 + [False] * 10)
    assert (high.current, high.suggested) == (10, 9)
    assert difficulty_advice(0, answers(16, 20)).current == 1


def test_fewer_than_five_answers_keeps_the_level() -> None:
    result = difficulty_advice(4, [True, True, False])
    assert (result.suggested, result.answers_considered) == (4, 3)
    assert result.recent_accuracy == pytest.approx(2 / 3)
    assert "2 more needed" in result.reason
    none = difficulty_advice(4, [])
    assert none.recent_accuracy is None and "5 more needed" in none.reason
    assert none.target_accuracy == 0.85


# --- insights -----------------------------------------------------------------------

QUIET_STREAK = StreakResult(0, 0, False, None)
QUIET_TREND = TrendResult("STABLE", 0.5, ())
QUIET_PACE = PaceResult("ON_TRACK", 100, 100, 1.0, 100, None)
QUIET_ENGAGEMENT = EngagementResult((), (), 0, None, None)


def codes(**changes: object) -> list[str]:
    arguments: dict[str, object] = {
        "streak": QUIET_STREAK,
        "trend": QUIET_TREND,
        "pace": QUIET_PACE,
        "engagement": QUIET_ENGAGEMENT,
        "struggles": (),
        "due_reviews": 0,
        "names": {},
    }
    arguments.update(changes)
    return [item.code for item in insights(**arguments)]  # type: ignore[arg-type]


def test_nothing_to_say() -> None:
    assert codes() == []
    assert codes(streak=StreakResult(1, 3, True, TODAY)) == []  # a one-day streak is no news
    assert codes(trend=TrendResult("INSUFFICIENT_DATA", None, ())) == []
    assert codes(pace=PaceResult("NO_PLAN", None, 0, None, None, None)) == []


def test_streak_and_streak_at_risk() -> None:
    assert codes(streak=StreakResult(5, 5, True, TODAY)) == ["STREAK"]
    assert codes(streak=StreakResult(3, 4, False, TODAY - timedelta(days=1))) == ["STREAK_AT_RISK"]


def test_every_insight_in_a_fixed_order() -> None:
    struggle = Struggle("f", 0.41, 12, 0.4, ("WHEEL_SPINNING",), "HIGH", "...")
    items = insights(
        StreakResult(5, 5, True, TODAY),
        TrendResult("DECLINING", -3.25, ()),
        PaceResult("BEHIND", 120, 45, 0.375, 120, None),
        EngagementResult(((20, 90), (8, 30)), ("MONDAY", "WEDNESDAY"), 4, 25.0, "VIDEO"),
        [struggle, struggle],
        3,
        {"f": "Fractions"},
    )
    assert [(i.code, i.message) for i in items] == [
        ("STREAK", "5-day streak: keep it going."),
        ("DECLINING", "Quiz scores are falling by 3.2 points a week."),
        ("BEHIND_PACE", "Last week: 45 minutes of the 120 planned."),
        ("STRUGGLING", "Fractions needs attention: mastery 0.41 (and 1 more topic)."),
        ("REVIEWS_DUE", "3 reviews are due."),
        ("PEAK_TIME", "You study most on Monday and Wednesday around 20:00."),
    ]


def test_improving_and_ahead() -> None:
    items = insights(
        QUIET_STREAK,
        TrendResult("IMPROVING", 2.0, ()),
        PaceResult("AHEAD", 100, 150, 1.5, 100, None),
        QUIET_ENGAGEMENT,
        [],
        1,
        {},
    )
    assert [(i.code, i.message) for i in items] == [
        ("IMPROVING", "Quiz scores are rising by 2.0 points a week."),
        ("AHEAD_OF_PACE", "Last week: 150 minutes, 50 more than planned."),
        ("REVIEWS_DUE", "1 review is due."),
    ]
