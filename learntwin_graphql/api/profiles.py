"""Learner profiles: what a quiz attempt says about the learner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from learntwin_graphql.api.quizzes import ContentSourceEnum
from ml.quiz import ContentSource


@strawberry.type(
    description="What one analysed quiz attempt says about a learner (made by a "
    "PROFILE_ANALYSIS task after submitQuiz)."
)
class Profile:
    id: strawberry.ID = strawberry.field(description="Server-made id of the profile.")
    student_id: strawberry.ID = strawberry.field(description="The learner it describes.")
    level: int = strawberry.field(description="1..10")
    summary: str = strawberry.field(description="A few sentences about the learner, in English.")
    strengths: list[str] = strawberry.field(
        description="Topics or skills the attempt shows strong, as short phrases; may be empty."
    )
    weaknesses: list[str] = strawberry.field(
        description="Topics or skills to work on, as short phrases; may be empty."
    )
    recommendations: list[str] = strawberry.field(
        description="Next steps for the learner, as short sentences; may be empty."
    )
    learning_style: str | None = strawberry.field(
        description="How the learner seems to learn best, in a few words; null when the "
        "analysis could not tell."
    )
    source: ContentSourceEnum = strawberry.field(
        description="Who wrote it: the LLM, or the deterministic FALLBACK analysis."
    )
    xp: int = strawberry.field(description="Experience points earned so far (0 or more).")
    streak_days: int = strawberry.field(
        description="Consecutive days with a submitted quiz, up to this one."
    )
    created_at: datetime = strawberry.field(description="When it was stored (UTC).")

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
