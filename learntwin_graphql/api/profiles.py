"""Learner profiles: what a quiz attempt says about the learner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from learntwin_graphql.api.quizzes import ContentSourceEnum
from ml.quiz import ContentSource


@strawberry.type
class Profile:
    id: strawberry.ID
    student_id: strawberry.ID
    level: int = strawberry.field(description="1..10")
    summary: str
    strengths: list[str]
    weaknesses: list[str]
    recommendations: list[str]
    learning_style: str | None
    source: ContentSourceEnum
    xp: int
    streak_days: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Profile:
        return cls(
            id=row["id"],
            student_id=row["student_id"],
            level=row["level"],
            summary=row["summary"],
            strengths=row["strengths"],
            weaknesses=row["weaknesses"],
            recommendations=row["recommendations"],
            learning_style=row["learning_style"],
            source=ContentSource(row["source"]),
            xp=row["xp"],
            streak_days=row["streak_days"],
            created_at=row["created_at"],
        )
