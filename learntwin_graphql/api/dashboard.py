"""The learner dashboard and the plan fields of Student (goals, recommendations,
dashboard), which Student inherits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.docs import After, First
from learntwin_graphql.api.goals import GoalStatus, LearningGoal
from learntwin_graphql.api.lessons import Lesson, LessonContentType
from learntwin_graphql.api.priority import PriorityEnum
from learntwin_graphql.api.recommendations import (
    DifficultyAdvice,
    Recommendation,
    RecommendationKind,
    RecommendationStatus,
)
from learntwin_graphql.api.skills import Skill, SkillLevel
from learntwin_graphql.batching import batched, load_each, load_optional, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.pagination import Connection, after_position, build_connection, check_first
from learntwin_graphql.services import dashboard as dashboard_service
from learntwin_graphql.services.progress import valid_timezone
from ml.recommendations import Priority


@strawberry.enum(description="Direction of weekly mean quiz scores.")
class TrendDirection(Enum):
    IMPROVING = strawberry.enum_value("IMPROVING", description="Slope >= +2 points a week.")
    STABLE = strawberry.enum_value("STABLE", description="Between -2 and +2 points a week.")
    DECLINING = strawberry.enum_value("DECLINING", description="Slope <= -2 points a week.")
    INSUFFICIENT_DATA = strawberry.enum_value(
        "INSUFFICIENT_DATA", description="Fewer than 4 attempts, or fewer than 2 weeks."
    )


@strawberry.enum(description="Study time against the plan of the main active goal.")
class PaceStatus(Enum):
    AHEAD = strawberry.enum_value("AHEAD", description="More than 1.2 times the plan.")
    ON_TRACK = strawberry.enum_value("ON_TRACK", description="0.8 to 1.2 times the plan.")
    BEHIND = strawberry.enum_value("BEHIND", description="Less than 0.8 times the plan.")
    NO_PLAN = strawberry.enum_value("NO_PLAN", description="No goal with weeklyMinutes.")


@strawberry.enum(description="What makes a topic a struggle.")
class StruggleSignal(Enum):
    WHEEL_SPINNING = strawberry.enum_value(
        "WHEEL_SPINNING", description=">= 10 opportunities and still below 0.95."
    )
    LOW_MASTERY = strawberry.enum_value("LOW_MASTERY", description="< 0.4 after >= 3.")
    LOW_ACCURACY = strawberry.enum_value("LOW_ACCURACY", description="< 0.6 over the last 5.")
    SLOW_PROGRESS = strawberry.enum_value(
        "SLOW_PROGRESS", description="Over twice the estimate with completion < 0.5."
    )
    FREQUENT_PAUSES = strawberry.enum_value("FREQUENT_PAUSES", description="> 10 in a lesson.")
    FREQUENT_REWINDS = strawberry.enum_value("FREQUENT_REWINDS", description="> 8 in a lesson.")
    STUCK_SELF_REPORT = strawberry.enum_value(
        "STUCK_SELF_REPORT", description="Stuck in >= 30 % of class metrics over 7 days."
    )


@strawberry.enum(description="A day of the week.")
class Weekday(Enum):
    MONDAY = strawberry.enum_value("MONDAY", description="Monday.")
    TUESDAY = strawberry.enum_value("TUESDAY", description="Tuesday.")
    WEDNESDAY = strawberry.enum_value("WEDNESDAY", description="Wednesday.")
    THURSDAY = strawberry.enum_value("THURSDAY", description="Thursday.")
    FRIDAY = strawberry.enum_value("FRIDAY", description="Friday.")
    SATURDAY = strawberry.enum_value("SATURDAY", description="Saturday.")
    SUNDAY = strawberry.enum_value("SUNDAY", description="Sunday.")


@strawberry.type(description="Totals over the dashboard's range.")
class PerformanceSummary:
    lessons_completed: int = strawberry.field(description="Lessons completed in the range.")
    quiz_attempts: int = strawberry.field(description="Quiz submissions in the range.")
    average_score: float | None = strawberry.field(
        description="Mean quiz score 0..100; null without attempts."
    )
    completion_rate: float | None = strawberry.field(
        description="Completed / started lessons; null when none started."
    )
    active_days: int = strawberry.field(description="Local days with activity.")
    active_minutes: int = strawberry.field(description="Measured active minutes.")
    skills_mastered: int = strawberry.field(description="Skills at pMastery >= 0.95.")
    skills_in_progress: int = strawberry.field(description="Skills with evidence, below 0.95.")


@strawberry.type(description="Consecutive local days with activity.")
class Streak:
    current: int = strawberry.field(
        description="Ending today or yesterday; a missed day breaks it."
    )
    longest: int = strawberry.field(description="The longest run.")
    active_today: bool = strawberry.field(description="Any activity today (local).")
    last_active_date: date | None = strawberry.field(description="The newest local active day.")


@strawberry.type(description="One week's mean quiz score.")
class TrendPoint:
    week: date = strawberry.field(description="The week's local Monday.")
    average_score: float = strawberry.field(description="Mean score 0..100.")
    attempts: int = strawberry.field(description="Attempts that week.")


@strawberry.type(description="Where weekly mean quiz scores are heading.")
class Trend:
    direction: TrendDirection = strawberry.field(description="From the slope.")
    slope_per_week: float | None = strawberry.field(
        description="Theil-Sen slope of weekly mean quiz scores, points per week; null with too little data."
    )
    points: list[TrendPoint] = strawberry.field(description="The weekly means, oldest first.")


@strawberry.type(description="Study time against the main active goal's plan.")
class Pace:
    status: PaceStatus = strawberry.field(description="AHEAD, ON_TRACK, BEHIND or NO_PLAN.")
    planned_minutes_per_week: int | None = strawberry.field(description="The goal's weeklyMinutes.")
    actual_minutes_last_week: int = strawberry.field(
        description="Active minutes over the last 7 local days."
    )
    ratio: float | None = strawberry.field(description="Actual / planned.")
    required_minutes_per_week: int | None = strawberry.field(
        description="To finish the path's remaining minutes by the target date."
    )
    projected_completion_date: date | None = strawberry.field(
        description="At the current pace (or the plan's without recent activity)."
    )


@strawberry.type(description="Active minutes in one local hour of the day.")
class HourActivity:
    hour: int = strawberry.field(description="0..23, local.")
    active_minutes: int = strawberry.field(description="Active minutes in that hour.")


@strawberry.type(description="When and how the student studies.")
class EngagementPatterns:
    peak_hours: list[HourActivity] = strawberry.field(description="Top 3 local hours.")
    peak_weekdays: list[Weekday] = strawberry.field(description="Top 2 weekdays.")
    sessions: int = strawberry.field(description="Sessions split at 30 minutes without activity.")
    median_session_minutes: float | None = strawberry.field(description="Null without sessions.")
    preferred_content_type: LessonContentType | None = strawberry.field(
        description="The content type with the most active time."
    )


async def _struggle_skills(info: Info, items: Sequence[StrugglingTopic]) -> list[Any]:
    found = await load_each(info.context.loaders.skill, [t.skill_id for t in items])
    return mapped(found, Skill.from_row)


async def _struggle_lessons(info: Info, items: Sequence[StrugglingTopic]) -> list[Any]:
    return await load_optional(
        info.context.loaders.lesson, [t.lesson_id for t in items], Lesson.from_row
    )


@strawberry.type(description="A skill the student is struggling with, and why.")
class StrugglingTopic:
    skill_id: strawberry.Private[str]
    lesson_id: strawberry.Private[str | None]
    p_mastery: float = strawberry.field(description="Mastery now.")
    opportunities: int = strawberry.field(description="Observations so far.")
    recent_accuracy: float | None = strawberry.field(description="Over the last 5.")
    signals: list[StruggleSignal] = strawberry.field(description="What fired.")
    severity: PriorityEnum = strawberry.field(description="HIGH on WHEEL_SPINNING or two signals.")
    reason: str = strawberry.field(description="Why, with the numbers.")

    @strawberry.field(description="The skill.")
    @batched(_struggle_skills)
    async def skill(self, info: Info) -> Skill:
        return await one(_struggle_skills(info, [self]))

    @strawberry.field(description="The lesson that teaches the skill best.")
    @batched(_struggle_lessons)
    async def suggested_lesson(self, info: Info) -> Lesson | None:
        return await one(_struggle_lessons(info, [self]))


@strawberry.type(description="A short observation about the student's learning.")
class Insight:
    code: str = strawberry.field(description="Stable code, e.g. STREAK, BEHIND_PACE.")
    message: str = strawberry.field(description="For the learner to read.")


async def _open_recommendations(
    info: Info, items: Sequence[Dashboard], first: int = 5
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    found = await load_each(
        info.context.loaders.open_recommendations, [(d.student_id, first) for d in items]
    )
    return mapped(found, lambda rows: [Recommendation.from_row(r) for r in rows])


@strawberry.type(description="A student's learning at a glance, over a time range.")
class Dashboard:
    data: strawberry.Private[Any]
    student_id: strawberry.ID = strawberry.field(description="The student.")
    from_: datetime = strawberry.field(name="from", description="Start of the range.")
    to: datetime = strawberry.field(description="End of the range.")
    timezone: str = strawberry.field(description="IANA zone used for days, hours and streaks.")
    performance: PerformanceSummary = strawberry.field(description="Totals over the range.")
    streak: Streak = strawberry.field(description="Consecutive active days.")
    trend: Trend = strawberry.field(description="Weekly mean quiz scores.")
    pace: Pace = strawberry.field(description="Against the main goal's plan.")
    engagement: EngagementPatterns = strawberry.field(description="When and how.")
    struggling_topics: list[StrugglingTopic] = strawberry.field(description="HIGH first.")
    difficulty: DifficultyAdvice = strawberry.field(description="Aiming at 85 % success.")
    active_goals: list[LearningGoal] = strawberry.field(description="Oldest (main) first.")
    insights: list[Insight] = strawberry.field(description="What stands out.")

    @classmethod
    def from_data(cls, d: dashboard_service.DashboardData) -> Dashboard:
        p, s, t, pa, e = d.performance, d.streak, d.trend, d.pace, d.engagement
        return cls(
            data=d,
            student_id=d.student_id,
            from_=d.start,
            to=d.end,
            timezone=d.timezone,
            performance=PerformanceSummary(**vars(p)),
            streak=Streak(**vars(s)),
            trend=Trend(
                direction=TrendDirection(t.direction),
                slope_per_week=t.slope_per_week,
                points=[TrendPoint(**vars(pt)) for pt in t.points],
            ),
            pace=Pace(**{**vars(pa), "status": PaceStatus(pa.status)}),
            engagement=EngagementPatterns(
                peak_hours=[HourActivity(hour=h, active_minutes=m) for h, m in e.peak_hours],
                peak_weekdays=[Weekday(w) for w in e.peak_weekdays],
                sessions=e.sessions,
                median_session_minutes=e.median_session_minutes,
                preferred_content_type=LessonContentType(e.preferred_content_type)
                if e.preferred_content_type
                else None,
            ),
            struggling_topics=[
                StrugglingTopic(
                    skill_id=x.skill_id,
                    lesson_id=d.suggested.get(x.skill_id),
                    p_mastery=x.p_mastery,
                    opportunities=x.opportunities,
                    recent_accuracy=x.recent_accuracy,
                    signals=[StruggleSignal(sig) for sig in x.signals],
                    severity=Priority(x.severity),
                    reason=x.reason,
                )
                for x in d.struggles
            ],
            difficulty=DifficultyAdvice.from_values(d.difficulty),
            active_goals=[LearningGoal.from_row(g) for g in d.goals],
            insights=[Insight(code=i.code, message=i.message) for i in d.insights],
        )

    @strawberry.field(description="Skills whose FSRS review is due by `to`, most overdue first.")
    def due_reviews(
        self,
        first: Annotated[
            int, strawberry.argument(description="At most this many reviews (0 or more).")
        ] = 10,
    ) -> list[SkillLevel]:
        now = self.to
        return [SkillLevel.from_row(row, now) for row in self.data.due[: max(0, first)]]

    @strawberry.field(description="Open recommendations by priority.")
    @batched(_open_recommendations)
    async def recommendations(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="At most this many recommendations (0 or more).")
        ] = 5,
    ) -> list[Recommendation]:
        return await one(_open_recommendations(info, [self], first))


async def _goal_pages(
    info: Info,
    students: Sequence[Any],
    status: GoalStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    name = status.value if status else None
    found = await load_each(
        info.context.loaders.student_goals, [(s.id, name, position, first + 1) for s in students]
    )
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda r: (r["id"],), node=LearningGoal.from_row, after=after
        ),
    )


async def _recommendation_pages(
    info: Info,
    students: Sequence[Any],
    status: RecommendationStatus | None = RecommendationStatus.OPEN,
    kind: RecommendationKind | None = None,
    first: int = 20,
    after: str | None = None,
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    keys = [
        (s.id, status.value if status else None, kind.value if kind else None, position, first + 1)
        for s in students
    ]
    found = await load_each(info.context.loaders.student_recommendations, keys)
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda r: (r["id"],), node=Recommendation.from_row, after=after
        ),
    )


async def _dashboards(
    info: Info,
    students: Sequence[Any],
    from_: datetime | None = None,
    to: datetime | None = None,
    timezone: str | None = None,
) -> list[Any]:
    start, end = dashboard_service.window(from_, to, datetime.now(UTC))
    if timezone is not None and not valid_timezone(timezone):
        raise BadUserInput(f"Unknown time zone {timezone!r} (an IANA name).", field="timezone")
    found = await load_each(
        info.context.loaders.dashboard, [(s.id, start, end, timezone) for s in students]
    )
    return mapped(found, Dashboard.from_data)


@strawberry.type
class StudentPlans:
    """The goal, recommendation and dashboard fields of Student (Student inherits them)."""

    id: strawberry.ID

    @strawberry.field(description="The student's goals, in creation order.")
    @batched(_goal_pages)
    async def goals(
        self,
        info: Info,
        status: Annotated[
            GoalStatus | None,
            strawberry.argument(description="Only goals in this status; null: every status."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[LearningGoal]:
        return await one(_goal_pages(info, [self], status, first, after))

    @strawberry.field(description="The student's recommendations, newest first.")
    @batched(_recommendation_pages)
    async def recommendations(
        self,
        info: Info,
        status: Annotated[
            RecommendationStatus | None,
            strawberry.argument(
                description="Only recommendations in this status (OPEN unless given); null: every status."
            ),
        ] = RecommendationStatus.OPEN,
        kind: Annotated[
            RecommendationKind | None,
            strawberry.argument(description="Only recommendations of this kind; null: every kind."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Recommendation]:
        return await one(_recommendation_pages(info, [self], status, kind, first, after))

    @strawberry.field(
        description="`from` defaults to 30 days before `to`, `to` to now, `timezone` to "
        "Student.timezone."
    )
    @batched(_dashboards)
    async def dashboard(
        self,
        info: Info,
        from_: Annotated[
            datetime | None, strawberry.argument(name="from", description="Start of the range.")
        ] = None,
        to: Annotated[datetime | None, strawberry.argument(description="End; default now.")] = None,
        timezone: Annotated[
            str | None, strawberry.argument(description="An IANA zone; default the student's.")
        ] = None,
    ) -> Dashboard:
        return await one(_dashboards(info, [self], from_, to, timezone))
