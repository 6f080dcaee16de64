"""The learner dashboard through the API, against real Postgres: performance, streaks
and time zones from stored activity times, the quiz trend, pace against the main goal,
engagement, due reviews, open recommendations, refusals, access, and the statements a
page of students costs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.conftest import error_codes, learner_token
from tests.test_goals import create_goal, ok
from tests.test_progress import ACTIVITY, ENROLL, activity, course
from tests.test_skills import SUBMIT, answers, quiz_on

DASHBOARD_FIELDS = """studentId from to timezone
  performance { lessonsCompleted quizAttempts averageScore completionRate activeDays
    activeMinutes skillsMastered skillsInProgress }
  streak { current longest activeToday lastActiveDate }
  trend { direction slopePerWeek points { week averageScore attempts } }
  pace { status plannedMinutesPerWeek actualMinutesLastWeek ratio requiredMinutesPerWeek
    projectedCompletionDate }
  engagement { peakHours { hour activeMinutes } peakWeekdays sessions medianSessionMinutes
    preferredContentType }
  strugglingTopics { skill { id } signals severity }
  dueReviews { skill { id } nextReviewAt }
  difficulty { current suggested answersConsidered }
  recommendations { id kind priority status }
  activeGoals { id weeklyMinutes }
  insights { code message }"""
DASHBOARD = f"""query($s: ID!, $from: DateTime, $to: DateTime, $tz: String) {{ student(id: $s) {{
  dashboard(from: $from, to: $to, timezone: $tz) {{ {DASHBOARD_FIELDS} }} }} }}"""


async def dashboard(
    gql: Any,
    student: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tz: str | None = None,
    **auth: Any,
) -> dict[str, Any]:
    variables = {
        "s": student,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "tz": tz,
    }
    return (await ok(gql, DASHBOARD, variables, **auth))["student"]["dashboard"]


async def enrolled(gql: Any, student: str) -> dict[str, Any]:
    c = await course(gql)
    await ok(gql, ENROLL, {"c": c["id"], "s": student})
    return c


async def act(
    gql: Any, c: dict[str, Any], student: str, at: datetime, tag: str, **values: Any
) -> None:
    await ok(gql, ACTIVITY, activity(c["a1"], student, tag, occurredAt=at.isoformat(), **values))


def now() -> datetime:
    return datetime.now(UTC)


# --- an empty student ---------------------------------------------------------------


async def test_a_student_without_any_evidence_has_an_empty_dashboard(gql):
    await ok(gql, 'mutation { setStudentTimezone(studentId: "s-empty", timezone: "UTC") { id } }')
    d = await dashboard(gql, "s-empty")
    assert d["studentId"] == "s-empty" and d["timezone"] == "UTC"
    p = d["performance"]
    assert p["averageScore"] is None and p["completionRate"] is None
    assert (p["quizAttempts"], p["lessonsCompleted"], p["activeDays"], p["activeMinutes"]) == (
        0,
        0,
        0,
        0,
    )
    assert d["streak"] == {"current": 0, "longest": 0, "activeToday": False, "lastActiveDate": None}
    assert d["trend"] == {"direction": "INSUFFICIENT_DATA", "slopePerWeek": None, "points": []}
    assert d["pace"]["status"] == "NO_PLAN" and d["pace"]["plannedMinutesPerWeek"] is None
    assert d["pace"]["ratio"] is None and d["pace"]["actualMinutesLastWeek"] == 0
    assert d["engagement"]["sessions"] == 0 and d["engagement"]["peakHours"] == []
    assert d["engagement"]["medianSessionMinutes"] is None
    assert d["strugglingTopics"] == [] and d["dueReviews"] == [] and d["recommendations"] == []
    assert d["activeGoals"] == []
    assert d["difficulty"]["current"] == d["difficulty"]["suggested"] == 5
    # the range defaults to the 30 days before now
    start, end = datetime.fromisoformat(d["from"]), datetime.fromisoformat(d["to"])
    assert end - start == timedelta(days=30)
    assert abs(end - now()) < timedelta(minutes=1)


# --- range and time-zone refusals ---------------------------------------------------


async def test_bad_ranges_and_zones_are_refused(gql):
    await ok(gql, 'mutation { setStudentTimezone(studentId: "s-bad", timezone: "UTC") { id } }')
    t = now()
    for variables, field in (
        ({"from": t.isoformat(), "to": t.isoformat()}, "from"),
        ({"from": t.isoformat(), "to": (t - timedelta(hours=1)).isoformat()}, "from"),
        ({"from": (t - timedelta(days=400)).isoformat(), "to": t.isoformat()}, "from"),
        ({"tz": "Mars/Olympus"}, "timezone"),
        ({"tz": "europe/paris"}, "timezone"),
        ({"tz": ""}, "timezone"),
        # at the calendar's ends: refused, never an overflow inside
        ({"to": "0001-01-05T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00Z", "to": "0001-06-01T00:00:00Z"}, "to"),
        ({"to": "9999-12-31T23:00:00Z", "tz": "Pacific/Kiritimati"}, "to"),
    ):
        body = await gql(DASHBOARD, {"s": "s-bad", **variables})
        assert error_codes(body) == ["BAD_USER_INPUT"], (variables, body)
        assert body["errors"][0]["extensions"]["field"] == field, (variables, body)
    fine = await gql(
        DASHBOARD,
        {"s": "s-bad", "from": (t - timedelta(days=366)).isoformat(), "to": t.isoformat()},
    )
    assert "errors" not in fine, fine


# --- streaks and time zones ---------------------------------------------------------


async def test_the_streak_counts_consecutive_days_ending_today(gql):
    c = await enrolled(gql, "s-streak")
    t = now() - timedelta(minutes=1)
    for days in (0, 1, 2, 4, 5, 6, 7):
        await act(gql, c, "s-streak", t - timedelta(days=days), f"d{days}")
    s = (await dashboard(gql, "s-streak"))["streak"]
    assert s == {
        "current": 3,
        "longest": 4,
        "activeToday": True,
        "lastActiveDate": t.date().isoformat(),
    }


async def test_a_streak_ending_yesterday_still_counts_and_a_missed_day_breaks_it(gql):
    c = await enrolled(gql, "s-yday")
    t = now() - timedelta(minutes=1)
    for days in (1, 2, 3):
        await act(gql, c, "s-yday", t - timedelta(days=days), f"y{days}")
    s = (await dashboard(gql, "s-yday"))["streak"]
    assert (s["current"], s["longest"], s["activeToday"]) == (3, 3, False)
    assert s["lastActiveDate"] == (t - timedelta(days=1)).date().isoformat()
    c2 = await enrolled(gql, "s-gap")
    for days in (2, 3):
        await act(gql, c2, "s-gap", t - timedelta(days=days), f"g{days}")
    s = (await dashboard(gql, "s-gap"))["streak"]
    assert (s["current"], s["longest"], s["activeToday"]) == (0, 2, False)


async def test_a_streak_reaches_back_before_the_range(gql):
    c = await enrolled(gql, "s-long")
    t = now() - timedelta(minutes=1)
    for days in range(40):
        await act(gql, c, "s-long", t - timedelta(days=days), f"l{days}")
    d = await dashboard(gql, "s-long")
    assert d["streak"]["current"] == 40 and d["streak"]["longest"] == 40
    # the range's own counts stay within the range
    assert d["performance"]["activeDays"] in (30, 31)


async def test_the_time_zone_decides_the_day_of_an_event(gql):
    c = await enrolled(gql, "s-tz")
    today = now().date()
    late = datetime.combine(today - timedelta(days=1), datetime.min.time(), UTC) + timedelta(
        hours=23, minutes=30
    )  # yesterday 23:30 UTC: today 08:30 in Tokyo
    await act(gql, c, "s-tz", late, "late", activeSeconds=600)
    utc = await dashboard(gql, "s-tz", tz="UTC")
    tokyo = await dashboard(gql, "s-tz", tz="Asia/Tokyo")
    assert utc["timezone"] == "UTC" and tokyo["timezone"] == "Asia/Tokyo"
    assert utc["streak"]["lastActiveDate"] == (today - timedelta(days=1)).isoformat()
    assert tokyo["streak"]["lastActiveDate"] == today.isoformat()
    assert utc["engagement"]["peakHours"][0]["hour"] == 23
    assert tokyo["engagement"]["peakHours"][0]["hour"] == 8
    # the student's own zone is the default
    await ok(
        gql, 'mutation { setStudentTimezone(studentId: "s-tz", timezone: "Asia/Tokyo") { id } }'
    )
    default = await dashboard(gql, "s-tz")
    assert default["timezone"] == "Asia/Tokyo"
    assert default["streak"]["lastActiveDate"] == today.isoformat()
    assert default["engagement"]["peakHours"][0]["hour"] == 8
    # and an explicit one wins over it
    assert (await dashboard(gql, "s-tz", tz="UTC"))["engagement"]["peakHours"][0]["hour"] == 23


async def test_a_day_with_activity_only_in_another_zone_breaks_the_streak_there(gql):
    """23:00 UTC on day -3 and 01:00 UTC on day -1 are two UTC days apart (day -2 is
    missed), but 15:00 on day -3 and 17:00 on day -2 in Los Angeles (UTC-8): consecutive."""
    c = await enrolled(gql, "s-zones")
    base = datetime.combine(now().date() - timedelta(days=3), datetime.min.time(), UTC)
    # 23:00 UTC day -3 and 01:00 UTC day -1: two UTC days apart (a gap on day -2) ...
    await act(gql, c, "s-zones", base + timedelta(hours=23), "z1")
    await act(gql, c, "s-zones", base + timedelta(days=2, hours=1), "z2")
    utc = (await dashboard(gql, "s-zones", tz="UTC"))["streak"]
    assert utc["longest"] == 1  # day -3 and day -1: not consecutive
    # ... but in Los Angeles (UTC-8) they are 15:00 day -3 and 17:00 day -2: consecutive
    la = (await dashboard(gql, "s-zones", tz="America/Los_Angeles"))["streak"]
    assert la["longest"] == 2


# --- performance, engagement, pace --------------------------------------------------


async def test_performance_counts_lessons_and_minutes_in_the_range(gql):
    c = await enrolled(gql, "s-perf")
    t = now() - timedelta(minutes=1)
    await act(gql, c, "s-perf", t - timedelta(hours=2), "p1", score=90, activeSeconds=600)
    await ok(
        gql,
        ACTIVITY,
        activity(
            c["a2"],
            "s-perf",
            "p2",
            score=50,
            activeSeconds=300,
            occurredAt=(t - timedelta(hours=1)).isoformat(),
        ),
    )
    # outside the range (40 days back): not counted in the range's figures
    await act(gql, c, "s-perf", t - timedelta(days=40), "p0", activeSeconds=1200)
    p = (await dashboard(gql, "s-perf"))["performance"]
    assert p["lessonsCompleted"] == 1  # a1 (90 >= 60); a2 is in progress
    assert p["completionRate"] == 0.5
    assert p["activeMinutes"] == 15 and p["activeDays"] == 1
    assert p["quizAttempts"] == 0 and p["averageScore"] is None
    assert p["skillsInProgress"] == 2 and p["skillsMastered"] == 0


async def test_sessions_split_at_thirty_minutes_without_activity(gql):
    c = await enrolled(gql, "s-sess")
    t = now() - timedelta(hours=5)
    for n, minutes in enumerate((0, 10, 20, 60, 70)):
        await act(gql, c, "s-sess", t + timedelta(minutes=minutes), f"s{n}", activeSeconds=300)
    e = (await dashboard(gql, "s-sess"))["engagement"]
    assert e["sessions"] == 2
    assert e["preferredContentType"] is not None
    assert sum(h["activeMinutes"] for h in e["peakHours"]) <= 25
    assert len(e["peakHours"]) <= 3


async def test_pace_uses_the_main_goals_weekly_minutes(gql):
    c = await enrolled(gql, "s-pace")
    main = await create_goal(gql, "s-pace", ["advanced"], weeklyMinutes=60)
    await create_goal(gql, "s-pace", ["basics"], weeklyMinutes=600)  # not the main one
    d = await dashboard(gql, "s-pace")
    assert d["activeGoals"][0]["id"] == main["id"]
    assert d["pace"]["status"] == "BEHIND" and d["pace"]["plannedMinutesPerWeek"] == 60
    assert d["pace"]["ratio"] == 0.0
    t = now() - timedelta(minutes=1)
    await act(gql, c, "s-pace", t - timedelta(days=1), "w1", activeSeconds=2400)
    await act(gql, c, "s-pace", t - timedelta(days=2), "w2", activeSeconds=1800)  # 70 minutes
    d = await dashboard(gql, "s-pace")
    assert d["pace"]["actualMinutesLastWeek"] == 70
    assert d["pace"]["status"] == "ON_TRACK" and d["pace"]["ratio"] == pytest.approx(70 / 60)
    await act(gql, c, "s-pace", t - timedelta(days=3), "w3", activeSeconds=600)  # 80 minutes
    assert (await dashboard(gql, "s-pace"))["pace"]["status"] == "AHEAD"
    # minutes older than 7 days do not count for pace
    await act(gql, c, "s-pace", t - timedelta(days=9), "w9", activeSeconds=3600)
    assert (await dashboard(gql, "s-pace"))["pace"]["actualMinutesLastWeek"] == 80


async def test_a_goal_without_weekly_minutes_is_no_plan(gql):
    await course(gql)
    await create_goal(gql, "s-noplan", ["advanced"])
    d = await dashboard(gql, "s-noplan")
    assert d["pace"]["status"] == "NO_PLAN" and len(d["activeGoals"]) == 1


# --- the quiz trend -----------------------------------------------------------------


async def quiz_attempt(gql: Any, runtime: Any, student: str, right: int, of: int, at: datetime):
    quiz_id, questions = await quiz_on(runtime, ["basics"] * of)
    body = await ok(
        gql,
        SUBMIT,
        {"q": quiz_id, "s": student, "a": answers(questions, [n < right for n in range(of)])},
    )
    attempt_id = body["submitQuiz"]["attempt"]["id"]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text("UPDATE quiz_attempts SET submitted_at = :at WHERE id = :id"),
            {"at": at, "id": attempt_id},
        )


async def test_the_trend_needs_four_attempts_over_two_weeks(gql, runtime):
    t = now() - timedelta(hours=1)
    # three attempts over two weeks: not enough
    for right, days in ((1, 14), (2, 7), (3, 0)):
        await quiz_attempt(gql, runtime, "s-trend", right, 4, t - timedelta(days=days))
    d = await dashboard(gql, "s-trend")
    assert d["trend"]["direction"] == "INSUFFICIENT_DATA" and d["trend"]["slopePerWeek"] is None
    assert d["performance"]["quizAttempts"] == 3
    assert d["performance"]["averageScore"] == pytest.approx(50.0)
    # a fourth: improving, about 25 points a week
    await quiz_attempt(gql, runtime, "s-trend", 4, 4, t)
    d = await dashboard(gql, "s-trend")
    assert d["trend"]["direction"] == "IMPROVING"
    assert d["trend"]["slopePerWeek"] > 2
    assert sum(p["attempts"] for p in d["trend"]["points"]) == 4
    weeks = [date.fromisoformat(p["week"]) for p in d["trend"]["points"]]
    assert all(w.weekday() == 0 for w in weeks) and weeks == sorted(weeks)


async def test_four_attempts_in_one_week_are_not_a_trend(gql, runtime):
    t = now() - timedelta(hours=1)
    monday = datetime.combine(t.date() - timedelta(days=t.weekday()), datetime.min.time(), UTC)
    for n in range(4):
        at = min(monday + timedelta(hours=1 + n), t)
        await quiz_attempt(gql, runtime, "s-week", n, 4, at)
    d = await dashboard(gql, "s-week")
    assert d["trend"]["direction"] == "INSUFFICIENT_DATA"
    assert len(d["trend"]["points"]) == 1 and d["trend"]["points"][0]["attempts"] == 4


async def test_declining_scores_are_a_declining_trend(gql, runtime):
    t = now() - timedelta(hours=1)
    for right, days in ((4, 21), (3, 14), (2, 7), (1, 0)):
        await quiz_attempt(gql, runtime, "s-down", right, 4, t - timedelta(days=days))
    trend = (await dashboard(gql, "s-down"))["trend"]
    assert trend["direction"] == "DECLINING" and trend["slopePerWeek"] == pytest.approx(-25.0)


# --- due reviews, recommendations ---------------------------------------------------


async def test_due_reviews_list_the_skills_with_a_due_card(gql, runtime):
    c = await enrolled(gql, "s-due")
    await act(gql, c, "s-due", now() - timedelta(minutes=5), "r1", score=90)
    assert (await dashboard(gql, "s-due"))["dueReviews"] == []  # just reviewed
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE skill_levels SET card = jsonb_set(card, '{due}',"
                " to_jsonb((now() - interval '1 day')::text))"
                " WHERE student_id = 's-due' AND skill_id = 'basics'"
            )
        )
    due = (await dashboard(gql, "s-due"))["dueReviews"]
    assert [r["skill"]["id"] for r in due] == ["basics"]
    assert datetime.fromisoformat(due[0]["nextReviewAt"]) < now()


async def test_a_review_falling_due_with_time_alone_rebuilds_the_path(gql, runtime, jobs):
    """Nothing happens but the clock: the sweeper finds the review that fell due and the
    student's path gains a REVIEW step first (trigger REVIEW_DUE)."""
    from workers.sweep import mark_due_reviews

    c = await enrolled(gql, "s-clock")
    made = await create_goal(gql, "s-clock", ["advanced"])
    await act(gql, c, "s-clock", now() - timedelta(minutes=5), "r1", score=90)
    await jobs.run()
    ctx = {"engine": runtime.engine, "redis": runtime.redis}
    assert await mark_due_reviews(ctx) == 0  # the first sweep sets where the next starts
    async with runtime.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE skill_levels SET card = jsonb_set(card, '{due}', to_jsonb(now()::text)),"
                " review_due_at = now() WHERE student_id = 's-clock' AND skill_id = 'basics'"
            )
        )
    assert await mark_due_reviews(ctx) == 1
    assert await mark_due_reviews(ctx) == 0  # each review is found once
    await jobs.run()
    body = await ok(
        gql,
        "query($g: ID!) { learningGoal(id: $g) { path { version trigger steps { kind"
        " reasonCode skills { id } } } } }",
        {"g": made["id"]},
    )
    path = body["learningGoal"]["path"]
    assert path["version"] > 1 and path["trigger"] == "REVIEW_DUE", path
    first = path["steps"][0]
    assert first["kind"] == "REVIEW" and first["reasonCode"] == "REVIEW_DUE"
    assert [s["id"] for s in first["skills"]] == ["basics"]


async def test_due_reviews_are_due_by_the_end_of_the_range(gql):
    c = await enrolled(gql, "s-due2")
    await act(gql, c, "s-due2", now() - timedelta(minutes=5), "r1", score=90)
    later = now() + timedelta(days=200)
    due = (await dashboard(gql, "s-due2", start=later - timedelta(days=30), end=later))[
        "dueReviews"
    ]
    assert [r["skill"]["id"] for r in due] == ["basics"]


async def test_the_dashboard_lists_open_recommendations_and_active_goals(gql):
    c = await course(gql)
    first = await create_goal(gql, "s-dr", ["advanced"])
    second = await create_goal(gql, "s-dr", ["basics"])
    d = await dashboard(gql, "s-dr")
    assert [g["id"] for g in d["activeGoals"]] == [first["id"], second["id"]]
    assert [(r["kind"], r["status"]) for r in d["recommendations"]] == [("NEXT_LESSON", "OPEN")]
    assert c  # the course the recommendation points into


# --- access -------------------------------------------------------------------------


async def test_a_learner_sees_only_its_own_dashboard(gql):
    token = await learner_token(gql, "dash@example.org", "s-dash")
    await learner_token(gql, "dash-other@example.org", "s-dash-other")
    own = await dashboard(gql, "s-dash", token=token)
    assert own["studentId"] == "s-dash"
    body = await gql(DASHBOARD, {"s": "s-dash-other"}, token=token)
    assert "FORBIDDEN" in error_codes(body), body


# --- statements ---------------------------------------------------------------------

CLASS_PAGE = """query($c: ID!) { class(id: $c) { students(first: 50) { edges { node { id
  dashboard { performance { quizAttempts averageScore activeMinutes } streak { current }
    trend { direction } pace { status } engagement { sessions } strugglingTopics { skill { id } }
    dueReviews { skill { id } } difficulty { suggested } recommendations { id lesson { id } }
    activeGoals { id } insights { code } }
  goals { edges { node { id progress gaps { skill { id } blockedBy { id } }
    path { id steps { lesson { id } status skills { id } } } } } } } } } } }"""


async def class_of(gql: Any, c: dict[str, Any], class_id: str, size: int) -> None:
    students = [f"{class_id}-s{n}" for n in range(size)]
    records = [
        {
            "classId": class_id,
            "studentId": s,
            "stuck": False,
            "gotIt": True,
            "pause": True,
            "example": False,
            "confidence": 5,
            "timestamp": (now() - timedelta(minutes=m + 1)).isoformat(),
        }
        for s in students
        for m in range(5)
    ]
    body = await ok(
        gql,
        "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted } }",
        {"r": records},
    )
    assert body["ingestMetrics"]["accepted"] == len(records)
    for s in students:
        await ok(gql, ENROLL, {"c": c["id"], "s": s})
        await act(gql, c, s, now() - timedelta(hours=1), f"{s}-e", score=70, activeSeconds=120)
        await create_goal(gql, s, ["advanced"], weeklyMinutes=60)


async def test_a_class_page_of_dashboards_and_paths_costs_the_same_statements(gql, runtime):
    c = await course(gql)
    await class_of(gql, c, "c-two", 2)
    await class_of(gql, c, "c-six", 6)
    counts = {}
    for class_id, size in (("c-two", 2), ("c-six", 6)):
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        try:
            body = await ok(gql, CLASS_PAGE, {"c": class_id})
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
        edges = body["class"]["students"]["edges"]
        assert len(edges) == size
        for edge in edges:
            node = edge["node"]
            assert node["dashboard"]["recommendations"], node
            assert node["goals"]["edges"][0]["node"]["path"]["steps"], node
        counts[size] = statements
    assert counts[2] == counts[6], counts


async def test_a_tutor_turn_counts_as_activity(gql):
    token = await learner_token(gql, "dash-tutor@example.org", "s-talk")
    made = await ok(
        gql, 'mutation { startChatSession(input: {studentId: "s-talk"}) { id } }', token=token
    )
    before = await dashboard(gql, "s-talk")
    assert before["streak"]["current"] == 0 and before["performance"]["activeDays"] == 0
    await ok(
        gql,
        'mutation($c: ID!) { sendTutorMessage(input: {sessionId: $c, content: "Why?",'
        ' clientMessageId: "d1"}) { reply { id } } }',
        {"c": made["startChatSession"]["id"]},
        token=token,
    )
    after = await dashboard(gql, "s-talk")
    assert after["streak"]["current"] == 1 and after["streak"]["activeToday"]
    assert after["performance"]["activeDays"] == 1
