"""The learner dashboard: performance, streak, trend, pace, engagement, struggling
topics, due reviews and difficulty advice, from stored events with their own times, in
the student's time zone. Computed for a page of students in a constant number of
statements; the rules are ml.learner_analytics'."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db import classes, learner_reads
from db import goals as goals_db
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.services import learner_signals
from learntwin_graphql.services.learner_signals import Signals
from ml.learner_analytics import (
    ActivityEvent,
    DifficultyResult,
    EngagementResult,
    PaceResult,
    StreakResult,
    Struggle,
    TrendResult,
    active_minutes,
    engagement,
    insights,
    local_days,
    pace,
    streak,
    trend,
)
from ml.learner_model import MASTERED_AT
from ml.path_progress import DONE, step_status

DEFAULT_SPAN = timedelta(days=30)
# The dates a dashboard may cover: far enough from the calendar's ends that the ranges
# behind it (a streak's reach, a week, any time zone) never leave it.
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)
MAX_SPAN = timedelta(days=366)
WEEK = timedelta(days=7)
# How far back a current streak is followed (days before `from` count for it).
STREAK_REACH = timedelta(days=400)


@dataclass
class Performance:
    lessons_completed: int
    quiz_attempts: int
    average_score: float | None
    completion_rate: float | None
    active_days: int
    active_minutes: int
    skills_mastered: int
    skills_in_progress: int


@dataclass
class DashboardData:
    student_id: str
    start: datetime
    end: datetime
    timezone: str
    performance: Performance
    streak: StreakResult
    trend: TrendResult
    pace: PaceResult
    engagement: EngagementResult
    struggles: list[Struggle]
    suggested: dict[str, str]
    due: list[dict[str, Any]]
    difficulty: DifficultyResult
    goals: list[dict[str, Any]]
    insights: list[Any] = field(default_factory=list)


def window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """`to` defaults to now and `from` to 30 days before it; at most 366 days."""
    end = end or now
    for name, value in (("to", end), ("from", start)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise BadUserInput(f"`{name}` must lie in {EARLIEST.year}..{LATEST.year}.", field=name)
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise BadUserInput("`from` must be before `to`.", field="from")
    if end - start > MAX_SPAN:
        raise BadUserInput("A dashboard covers at most 366 days.", field="from")
    return start, end


async def build(
    target: Any,
    student_ids: Sequence[str],
    start: datetime,
    end: datetime,
    timezone: str | None,
) -> dict[str, DashboardData]:
    ids = list(student_ids)
    zones = await classes.timezones_of(target, ids)
    since = min(start, end - WEEK - timedelta(days=1))  # covers 7 local days anywhere
    events = await learner_reads.activity_events(target, ids, since, end)
    chosen = {student: timezone or zones.get(student, "UTC") for student in ids}
    days = await learner_reads.active_days(target, chosen, end - STREAK_REACH, end)
    signals = await learner_signals.signals_of(target, ids, end, due_by=end)
    goals = await goals_db.goal_pages(target, ids, goals_db.ACTIVE, None, 50)
    all_goals = [g for rows in goals.values() for g in rows]
    paths = await goals_db.active_paths(target, [g["id"] for g in all_goals])
    found = {}
    for student in ids:
        zone = chosen[student]
        mine = goals.get(student, [])
        mine.sort(key=lambda g: (g["created_at"], g["id"]))
        found[student] = _dashboard(
            student,
            start,
            end,
            zone,
            events.get(student, []),
            days.get(student, []),
            signals[student],
            mine,
            paths,
        )
    # One read for every student's struggling skills (courses ranked by id alone).
    skills = sorted({s.skill_id for d in found.values() for s in d.struggles})
    suggested = await learner_signals.lessons_for(target, "", skills)
    for data in found.values():
        data.suggested = {
            s.skill_id: suggested[s.skill_id] for s in data.struggles if s.skill_id in suggested
        }
    return found


def _event(row: Mapping[str, Any]) -> ActivityEvent:
    return ActivityEvent(
        at=row["at"],
        kind=row["kind"],
        active_seconds=row["active_seconds"],
        content_type=row["content_type"],
    )


def remaining_minutes(path: Mapping[str, Any] | None, signals: Signals) -> int | None:
    """The minutes of the path's steps not done yet (their live status)."""
    if path is None:
        return None
    progress = {row["lesson_id"]: row for row in signals.efforts}
    practised = {row["skill_id"]: row.get("last_practiced_at") for row in signals.levels}
    return sum(
        s["estimated_minutes"]
        for s in path["steps"]
        if step_status(
            s["kind"],
            s["reason_code"],
            (progress.get(s["lesson_id"]) or {}).get("status"),
            (progress.get(s["lesson_id"]) or {}).get("last_activity_at"),
            [practised.get(k) for k in s["skills"]],
            path["created_at"],
        )
        != DONE
    )


def _dashboard(
    student: str,
    start: datetime,
    end: datetime,
    zone: str,
    rows: Sequence[Mapping[str, Any]],
    day_rows: Sequence[date],
    signals: Signals,
    goals: list[dict[str, Any]],
    paths: Mapping[str, Mapping[str, Any]],
) -> DashboardData:
    tz = ZoneInfo(zone)
    today = end.astimezone(tz).date()
    events = [_event(r) for r in rows if r["at"] >= start]
    # The last 7 local days: today and the 6 before it, from local midnight.
    week_start = datetime.combine(today - timedelta(days=6), time.min, tzinfo=tz)
    week = [_event(r) for r in rows if r["at"] >= week_start]
    scores = [(r["at"], r["score"]) for r in rows if r["kind"] == "QUIZ" and r["at"] >= start]
    main = goals[0] if goals else None
    path = paths.get(main["id"]) if main else None
    streak_now = streak(day_rows, today)
    trend_now = trend(scores, tz)
    pace_now = pace(
        active_minutes(week, week_start.astimezone(UTC), end),
        main["weekly_minutes"] if main else None,
        remaining_minutes(path, signals),
        today,
        main["target_date"] if main else None,
    )
    patterns = engagement(events, tz)
    data = DashboardData(
        student_id=student,
        start=start,
        end=end,
        timezone=zone,
        performance=_performance(events, scores, signals, start, end, tz),
        streak=streak_now,
        trend=trend_now,
        pace=pace_now,
        engagement=patterns,
        struggles=signals.struggles,
        suggested={},
        due=signals.due,
        difficulty=signals.difficulty,
        goals=goals,
    )
    names = {row["skill_id"]: row["name"] for row in signals.levels}
    data.insights = insights(
        streak_now, trend_now, pace_now, patterns, signals.struggles, len(signals.due), names
    )
    return data


def _performance(
    events: Sequence[ActivityEvent],
    scores: Sequence[tuple[datetime, float]],
    signals: Signals,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
) -> Performance:
    touched = [
        r
        for r in signals.efforts
        if r["last_activity_at"] is not None and start <= r["last_activity_at"] < end
    ]
    completed = [
        r
        for r in signals.efforts
        if r["completed_at"] is not None and start <= r["completed_at"] < end
    ]
    done_touched = sum(1 for r in touched if r["status"] == "COMPLETED")
    return Performance(
        lessons_completed=len(completed),
        quiz_attempts=len(scores),
        average_score=sum(s for _, s in scores) / len(scores) if scores else None,
        completion_rate=done_touched / len(touched) if touched else None,
        active_days=len(local_days(events, tz)),
        active_minutes=active_minutes(events, start, end),
        skills_mastered=sum(1 for r in signals.levels if r["p_mastery"] >= MASTERED_AT),
        skills_in_progress=sum(1 for r in signals.levels if r["p_mastery"] < MASTERED_AT),
    )
