"""Smoke: a goal with a path, recommendations and the dashboard."""

from __future__ import annotations

from typing import Any

from tests.test_progress import course

GOAL = """mutation($i: CreateGoalInput!) { createLearningGoal(input: $i) {
  id status progress targetSkills { skill { id } targetMastery } gaps { skill { id } pMastery blockedBy { id } }
  initialSnapshot { skill { id } pMastery }
  path { id version active trigger reason estimatedMinutes estimatedCompletionDate uncoveredSkills { id }
    steps { position kind lesson { id title } skills { id } reasonCode reason leadsTo { id } estimatedMinutes status } }
} }"""


async def test_goal_path_dashboard(gql: Any, jobs: Any) -> None:
    made = await course(gql)
    body = await gql(
        GOAL,
        {
            "i": {
                "studentId": "s1",
                "description": "Learn advanced",
                "targetSkills": [{"skillId": "advanced"}],
                "weeklyMinutes": 60,
            }
        },
    )
    print(body)
    assert "errors" not in body, body
    goal = body["data"]["createLearningGoal"]
    assert goal["path"]["version"] == 1
    body = await gql(
        'query { student(id: "s1") { goals { edges { node { id path { version } pathVersions { edges { node { version } } } } } } recommendations(status: null) { edges { node { id kind reason evidence priority status lesson { id } } } } dashboard { timezone performance { quizAttempts averageScore completionRate activeDays } streak { current longest } trend { direction } pace { status plannedMinutesPerWeek actualMinutesLastWeek projectedCompletionDate } engagement { sessions peakHours { hour } } strugglingTopics { skill { id } } dueReviews { skillId: pMastery } difficulty { current suggested reason } recommendations { id kind } activeGoals { id } insights { code message } } } }'
    )
    print(body)
    assert "errors" not in body, body
    await gql(
        'mutation($c: ID!) { enroll(input: {courseId: $c, studentId: "s1"}) { id } }',
        {"c": made["id"]},
    )
    ran = await jobs.run()
    print("jobs", ran)
    body = await gql(
        'query { student(id: "s1") { recommendations { edges { node { id kind reason status } } } } }'
    )
    print(body)
