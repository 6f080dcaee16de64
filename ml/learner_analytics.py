"""The learner dashboard's analytics: streak, score trend, pace, engagement, difficulty, insights.

Pure functions over plain dataclasses: the caller loads the events and passes `today` and
the student's time zone, so nothing here reads a clock or a database. Struggling topics
live in ml.struggle and are re-exported here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

# Re-exported (the `as` form) so the dashboard imports all its analytics from this module.
from ml.struggle import LessonEffort as LessonEffort
from ml.struggle import SkillEvidence as SkillEvidence
from ml.struggle import Struggle as Struggle
from ml.struggle import struggling_topics as struggling_topics

IMPROVING = "IMPROVING"
DECLINING = "DECLINING"
STABLE = "STABLE"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
TREND_MIN_ATTEMPTS = 4
TREND_MIN_WEEKS = 2
TREND_SLOPE = 2.0  # points per week

AHEAD = "AHEAD"
BEHIND = "BEHIND"
ON_TRACK = "ON_TRACK"
NO_PLAN = "NO_PLAN"
AHEAD_ABOVE = 1.2
BEHIND_BELOW = 0.8

SESSION_GAP = timedelta(minutes=30)
PEAK_HOURS = 3
PEAK_WEEKDAYS = 2
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")

DIFFICULTY_MIN = 1
DIFFICULTY_MAX = 10
DIFFICULTY_MIN_ANSWERS = 5
RAISE_ABOVE = 0.90
LOWER_BELOW = 0.70


@dataclass(frozen=True)
class ActivityEvent:
    """One reported activity; `at` is its end, `active_seconds` the active time before it."""

    at: datetime  # aware, UTC
    kind: str  # "LESSON" | "QUIZ" | "TUTOR"
    active_seconds: int = 0
    content_type: str | None = None  # the lesson's content type for LESSON


def median(values: Sequence[float]) -> float | None:
    """The median (mean of the two middle values for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    # A naive datetime would be read in the machine's zone by astimezone: take it as UTC.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz)


def _seconds(event: ActivityEvent) -> int:
    return max(0, event.active_seconds)


# --- streak -------------------------------------------------------------------------


def local_days(events: Iterable[ActivityEvent], tz: ZoneInfo) -> set[date]:
    """The student's local calendar days with at least one activity (by each event's end)."""
    return {_local(event.at, tz).date() for event in events}


@dataclass(frozen=True)
class StreakResult:
    current: int
    longest: int
    active_today: bool
    last_active_date: date | None


def streak(days: Iterable[date], today: date) -> StreakResult:
    """Consecutive active days ending today or yesterday; a missed day breaks it.

    Days after `today` are ignored: they can only come from a clock or zone mismatch.
    """
    active = {day for day in days if day <= today}
    if not active:
        return StreakResult(0, 0, False, None)
    longest = run = 0
    previous: date | None = None
    for day in sorted(active):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    current = 0
    # Yesterday still counts so the streak is not lost before the student studies today.
    cursor = today if today in active else today - timedelta(days=1)
    while cursor in active:
        current += 1
        cursor -= timedelta(days=1)
    return StreakResult(current, longest, today in active, max(active))


# --- score trend --------------------------------------------------------------------


@dataclass(frozen=True)
class WeekPoint:
    week: date  # the local Monday
    average_score: float
    attempts: int


@dataclass(frozen=True)
class TrendResult:
    direction: str
    slope_per_week: float | None
    points: tuple[WeekPoint, ...]


def theil_sen(points: Sequence[tuple[float, float]]) -> float | None:
    """The median of the slopes of all pairs with distinct x; None without such a pair."""
    slopes = [(y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in combinations(points, 2) if x1 != x2]
    return median(slopes)


def trend(attempts: Sequence[tuple[datetime, float]], tz: ZoneInfo) -> TrendResult:
    """Weekly mean quiz scores and their Theil-Sen slope in points per week.

    INSUFFICIENT_DATA under 4 attempts or 2 distinct weeks; ≥ +2 IMPROVING, ≤ -2 DECLINING,
    else STABLE. Scores are clamped to 0..100 and non-finite ones skipped.
    """
    by_week: dict[date, list[float]] = defaultdict(list)
    for submitted_at, score in attempts:
        if not math.isfinite(score):
            continue
        day = _local(submitted_at, tz).date()
        by_week[day - timedelta(days=day.weekday())].append(min(100.0, max(0.0, score)))
    points = tuple(
        WeekPoint(week, math.fsum(scores) / len(scores), len(scores))
        for week, scores in sorted(by_week.items())
    )
    counted = sum(p.attempts for p in points)
    if counted < TREND_MIN_ATTEMPTS or len(points) < TREND_MIN_WEEKS:
        return TrendResult(INSUFFICIENT_DATA, None, points)
    first = points[0].week
    # Weeks without attempts are gaps on the x axis, not zeros: x is weeks since the first.
    slope = theil_sen([((p.week - first).days / 7, p.average_score) for p in points])
    if slope is None:  # unreachable with two distinct weeks, kept for the type checker
        return TrendResult(INSUFFICIENT_DATA, None, points)
    if slope >= TREND_SLOPE:
        direction = IMPROVING
    elif slope <= -TREND_SLOPE:
        direction = DECLINING
    else:
        direction = STABLE
    return TrendResult(direction, slope, points)


# --- pace ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaceResult:
    status: str
    planned_minutes_per_week: int | None
    actual_minutes_last_week: int
    ratio: float | None
    required_minutes_per_week: int | None
    projected_completion_date: date | None


def _ceil_div(numerator: int, denominator: int) -> int:
    # Integer ceiling avoids float error turning an exact 7-day week into 8 days.
    return -(-numerator // denominator)


def pace(
    actual_minutes_last_week: int,
    weekly_minutes: int | None,
    remaining_minutes: int | None,
    today: date,
    target_date: date | None,
) -> PaceResult:
    """Last week's minutes against the plan, the weekly minutes a target needs, and an ETA.

    A plan of 0 minutes or less is treated as no plan: there is no ratio against zero.
    """
    planned = weekly_minutes if weekly_minutes is not None and weekly_minutes > 0 else None
    actual = max(0, actual_minutes_last_week)
    ratio = actual / planned if planned is not None else None
    if ratio is None:
        status = NO_PLAN
    elif ratio > AHEAD_ABOVE:
        status = AHEAD
    elif ratio < BEHIND_BELOW:
        status = BEHIND
    else:
        status = ON_TRACK

    required: int | None
    if remaining_minutes is None:
        required = None
    elif target_date is None:
        required = planned
    else:
        remaining = max(0, remaining_minutes)
        days_left = (target_date - today).days
        # A missed target cannot be spread over time: all of it is needed now.
        required = remaining if days_left < 0 else _ceil_div(remaining * 7, max(1, days_left))

    projected: date | None
    rate = actual if actual > 0 else planned
    if remaining_minutes is not None and remaining_minutes <= 0:
        projected = today
    elif remaining_minutes is None or rate is None:
        projected = None
    else:
        projected = today + timedelta(days=_ceil_div(remaining_minutes * 7, rate))
    return PaceResult(status, planned, actual, ratio, required, projected)


# --- engagement ---------------------------------------------------------------------


def active_minutes(events: Iterable[ActivityEvent], start: datetime, end: datetime) -> int:
    """Whole minutes of active time (rounded down) of the events with start <= at < end."""
    return sum(_seconds(e) for e in events if start <= e.at < end) // 60


@dataclass(frozen=True)
class EngagementResult:
    peak_hours: tuple[tuple[int, int], ...]  # (local hour 0..23, active minutes), top 3
    peak_weekdays: tuple[str, ...]  # top 2 of "MONDAY".."SUNDAY"
    sessions: int
    median_session_minutes: float | None
    preferred_content_type: str | None


def _top(seconds: Mapping[int, int], counts: Mapping[int, int], limit: int) -> list[int]:
    # Ranked by the minutes shown to the student, so a visible tie falls to event count.
    return sorted(counts, key=lambda k: (-(seconds[k] // 60), -counts[k], k))[:limit]


def _session_minutes(events: Sequence[ActivityEvent]) -> list[float]:
    spans: list[tuple[datetime, datetime]] = []  # (first start, last end) per session
    for event in sorted(events, key=lambda e: e.at):
        start = event.at - timedelta(seconds=_seconds(event))
        if not spans or start - spans[-1][1] > SESSION_GAP:
            spans.append((start, event.at))
        else:
            # A long event can start before the session's first one did.
            first, last = spans[-1]
            spans[-1] = (min(first, start), max(last, event.at))
    return [(last - first).total_seconds() / 60 for first, last in spans]


def engagement(events: Sequence[ActivityEvent], tz: ZoneInfo) -> EngagementResult:
    """When and how the student studies: peak hours and weekdays, sessions, content type."""
    hour_seconds: dict[int, int] = defaultdict(int)
    hour_counts: dict[int, int] = defaultdict(int)
    day_seconds: dict[int, int] = defaultdict(int)
    day_counts: dict[int, int] = defaultdict(int)
    type_seconds: dict[str, int] = defaultdict(int)
    type_counts: dict[str, int] = defaultdict(int)
    for event in events:
        local = _local(event.at, tz)
        hour_seconds[local.hour] += _seconds(event)
        hour_counts[local.hour] += 1
        day_seconds[local.weekday()] += _seconds(event)
        day_counts[local.weekday()] += 1
        if event.kind == "LESSON" and event.content_type:
            type_seconds[event.content_type] += _seconds(event)
            type_counts[event.content_type] += 1
    spans = _session_minutes(events)
    preferred = min(type_counts, key=lambda t: (-type_seconds[t], -type_counts[t], t), default=None)
    return EngagementResult(
        peak_hours=tuple(
            (h, hour_seconds[h] // 60) for h in _top(hour_seconds, hour_counts, PEAK_HOURS)
        ),
        peak_weekdays=tuple(WEEKDAYS[d] for d in _top(day_seconds, day_counts, PEAK_WEEKDAYS)),
        sessions=len(spans),
        median_session_minutes=median(spans),
        preferred_content_type=preferred,
    )


# --- difficulty ---------------------------------------------------------------------


@dataclass(frozen=True)
class DifficultyResult:
    current: int
    suggested: int
    recent_accuracy: float | None
    answers_considered: int
    target_accuracy: float
    reason: str


def _clamp_level(level: int) -> int:
    return min(DIFFICULTY_MAX, max(DIFFICULTY_MIN, level))


def difficulty_advice(
    current: int, answers: Sequence[bool], target: float = 0.85, window: int = 20
) -> DifficultyResult:
    """Raise the level above 90 % right over the last `window` answers, lower it below 70 %.

    At least 5 answers are needed, so a window under 5 is widened to 5.
    """
    level = _clamp_level(current)
    recent = list(answers)[-max(window, DIFFICULTY_MIN_ANSWERS) :]
    n, right = len(recent), sum(recent)
    accuracy = right / n if n else None
    if n < DIFFICULTY_MIN_ANSWERS:
        missing = DIFFICULTY_MIN_ANSWERS - n
        reason = (
            f"{n} graded answer{'' if n == 1 else 's'} so far; "
            f"{missing} more needed before changing level {level}."
        )
        return DifficultyResult(level, level, accuracy, n, target, reason)
    # Integer comparison so that exactly 90 % or 70 % never tips over through float error.
    if right * 100 > RAISE_ABOVE * 100 * n:
        step, verdict = 1, "above 90 %"
    elif right * 100 < LOWER_BELOW * 100 * n:
        step, verdict = -1, "below 70 %"
    else:
        step, verdict = 0, "within 70-90 %"
    suggested = _clamp_level(level + step)
    summary = f"{right} of the last {n} right ({right / n:.0%}, {verdict}; aiming for {target:.0%})"
    if step and suggested == level:
        reason = f"{summary}: already at level {level}, the {'top' if step > 0 else 'lowest'}."
    elif step:
        reason = f"{summary}: level {level} to {suggested}."
    else:
        reason = f"{summary}: stay at level {level}."
    return DifficultyResult(level, suggested, accuracy, n, target, reason)


# --- insights -----------------------------------------------------------------------


@dataclass(frozen=True)
class InsightItem:
    code: str
    message: str


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


def insights(
    streak: StreakResult,
    trend: TrendResult,
    pace: PaceResult,
    engagement: EngagementResult,
    struggles: Sequence[Struggle],
    due_reviews: int,
    names: Mapping[str, str],
) -> list[InsightItem]:
    """The dashboard's short messages that apply, in a fixed order: streak, trend, pace,
    struggles, reviews, peak time."""
    found: list[tuple[str, str]] = []
    if streak.current > 0 and not streak.active_today:
        found.append(("STREAK_AT_RISK", f"Study today to keep your {streak.current}-day streak."))
    elif streak.active_today and streak.current >= 2:
        # A one-day streak is just "studied today": not worth a message.
        found.append(("STREAK", f"{streak.current}-day streak: keep it going."))
    if trend.slope_per_week is not None and trend.direction in (IMPROVING, DECLINING):
        verb = "rising" if trend.direction == IMPROVING else "falling"
        slope = abs(trend.slope_per_week)
        found.append((trend.direction, f"Quiz scores are {verb} by {slope:.1f} points a week."))
    planned, actual = pace.planned_minutes_per_week, _minutes(pace.actual_minutes_last_week)
    if pace.status == BEHIND and planned is not None:
        found.append(("BEHIND_PACE", f"Last week: {actual} of the {planned} planned."))
    elif pace.status == AHEAD and planned is not None:
        extra = pace.actual_minutes_last_week - planned
        found.append(("AHEAD_OF_PACE", f"Last week: {actual}, {extra} more than planned."))
    if struggles:
        top, others = struggles[0], len(struggles) - 1
        name = names.get(top.skill_id) or top.skill_id
        more = f" (and {others} more topic{'' if others == 1 else 's'})" if others else ""
        found.append(("STRUGGLING", f"{name} needs attention: mastery {top.p_mastery:.2f}{more}."))
    if due_reviews > 0:
        noun = "review is" if due_reviews == 1 else "reviews are"
        found.append(("REVIEWS_DUE", f"{due_reviews} {noun} due."))
    if engagement.peak_weekdays and engagement.peak_hours:
        days = " and ".join(day.capitalize() for day in engagement.peak_weekdays)
        hour = engagement.peak_hours[0][0]
        found.append(("PEAK_TIME", f"You study most on {days} around {hour:02d}:00."))
    return [InsightItem(code, message) for code, message in found]
