"""A learner's recommendations (next lesson, revision, difficulty, a break), stored with
their reasons and evidence, answered once, pushed as they change."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from learntwin_graphql import permissions
from learntwin_graphql.api.lessons import Lesson
from learntwin_graphql.api.priority import PriorityEnum
from learntwin_graphql.api.skills import Skill
from learntwin_graphql.batching import batched, load_optional, one
from learntwin_graphql.context import Info
from learntwin_graphql.services import goals as goal_service
from ml.recommendations import Priority
from workers.keys import recommendation_channel

RESYNC_SECONDS = 30.0


@strawberry.enum(description="What a recommendation suggests.")
class RecommendationKind(Enum):
    NEXT_LESSON = strawberry.enum_value(
        "NEXT_LESSON", description="The next lesson of the path (or of an enrolment)."
    )
    REVISION = strawberry.enum_value(
        "REVISION", description="Revisit a skill: a review is due or the topic is a struggle."
    )
    DIFFICULTY = strawberry.enum_value(
        "DIFFICULTY", description="Change the difficulty to aim at 85 % success."
    )
    BREAK = strawberry.enum_value("BREAK", description="Pauses are frequent: take a break.")


@strawberry.enum(description="Where a recommendation is in its lifecycle.")
class RecommendationStatus(Enum):
    OPEN = strawberry.enum_value("OPEN", description="Offered, not answered.")
    ACCEPTED = strawberry.enum_value("ACCEPTED", description="The learner took it.")
    SKIPPED = strawberry.enum_value("SKIPPED", description="Not now (not offered for 24 h).")
    DISMISSED = strawberry.enum_value("DISMISSED", description="Not wanted (not for 24 h).")
    EXPIRED = strawberry.enum_value("EXPIRED", description="Unanswered for 7 days.")
    SUPERSEDED = strawberry.enum_value(
        "SUPERSEDED", description="Replaced by a newer one, or no longer warranted."
    )


@strawberry.enum(description="How the learner answers a recommendation.")
class RecommendationResponse(Enum):
    ACCEPTED = strawberry.enum_value("ACCEPTED", description="Take it.")
    SKIPPED = strawberry.enum_value("SKIPPED", description="Not now.")
    DISMISSED = strawberry.enum_value("DISMISSED", description="Not wanted.")


@strawberry.type(description="Advice on lesson difficulty, aiming at a success rate.")
class DifficultyAdvice:
    current: int = strawberry.field(description="1..10: the difficulty worked at lately.")
    suggested: int = strawberry.field(description="1..10: where to go next.")
    recent_accuracy: float | None = strawberry.field(
        description="Share right over the answers considered; null before any."
    )
    answers_considered: int = strawberry.field(description="Graded answers looked at (<= 20).")
    target_accuracy: float = strawberry.field(description="Default 0.85.")
    reason: str = strawberry.field(description="Why, with the numbers.")

    @classmethod
    def from_values(cls, values: Any) -> DifficultyAdvice:
        get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
        return cls(
            current=get("current"),
            suggested=get("suggested"),
            recent_accuracy=get("recent_accuracy"),
            answers_considered=get("answers_considered"),
            target_accuracy=get("target_accuracy"),
            reason=get("reason"),
        )


async def _lessons(info: Info, items: Sequence[Recommendation]) -> list[Any]:
    return await load_optional(
        info.context.loaders.lesson, [r.lesson_id for r in items], Lesson.from_row
    )


async def _skills(info: Info, items: Sequence[Recommendation]) -> list[Any]:
    return await load_optional(
        info.context.loaders.skill, [r.skill_id for r in items], Skill.from_row
    )


@strawberry.type(description="A suggestion to the learner, with why and the numbers behind it.")
class Recommendation:
    lesson_id: strawberry.Private[str | None]
    skill_id: strawberry.Private[str | None]
    id: strawberry.ID = strawberry.field(description="Server-made: `rec-` and hex digits.")
    student_id: strawberry.ID = strawberry.field(description="The student.")
    kind: RecommendationKind = strawberry.field(description="What it suggests.")
    difficulty: DifficultyAdvice | None = strawberry.field(description="For DIFFICULTY.")
    reason: str = strawberry.field(description="Why, in a sentence.")
    evidence: JSON = strawberry.field(description="The numbers that drove it.")
    priority: PriorityEnum = strawberry.field(description="HIGH, MEDIUM or LOW.")
    confidence: float = strawberry.field(description="0..1")
    status: RecommendationStatus = strawberry.field(description="Where it is in its lifecycle.")
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime | None = strawberry.field(description="7 days after it was made.")
    responded_at: datetime | None = strawberry.field(description="When it was answered.")
    response_note: str | None = strawberry.field(description="The learner's note with it.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Recommendation:
        advice = row["difficulty"]
        return cls(
            lesson_id=row["lesson_id"],
            skill_id=row["skill_id"],
            id=row["id"],
            student_id=row["student_id"],
            kind=RecommendationKind(row["kind"]),
            difficulty=DifficultyAdvice.from_values(advice) if advice else None,
            reason=row["reason"],
            evidence=row["evidence"],
            priority=Priority(row["priority"]),
            confidence=row["confidence"],
            status=RecommendationStatus(row["status"]),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            responded_at=row["responded_at"],
            response_note=row["response_note"],
        )

    @strawberry.field(description="The lesson it points at (NEXT_LESSON, REVISION).")
    @batched(_lessons)
    async def lesson(self, info: Info) -> Lesson | None:
        return await one(_lessons(info, [self]))

    @strawberry.field(description="The skill it is about (REVISION).")
    @batched(_skills)
    async def skill(self, info: Info) -> Skill | None:
        return await one(_skills(info, [self]))


@strawberry.input(description="The learner's answer to an OPEN recommendation.")
class RespondToRecommendationInput:
    id: strawberry.ID = strawberry.field(description="The recommendation.")
    response: RecommendationResponse = strawberry.field(
        description="ACCEPTED, SKIPPED or DISMISSED."
    )
    note: str | None = strawberry.field(default=None, description="At most 1000 characters.")


@strawberry.type
class RecommendationQuery:
    @strawberry.field(description="A recommendation by id; null when there is none.")
    async def recommendation(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The recommendation's id.")],
    ) -> Recommendation | None:
        row = await info.context.loaders.recommendation.load(id)
        return Recommendation.from_row(row) if row else None


@strawberry.type
class RecommendationMutation:
    @strawberry.mutation(
        description="Only an OPEN recommendation can be answered (once; again is BAD_USER_INPUT)."
    )
    async def respond_to_recommendation(
        self,
        info: Info,
        input: Annotated[
            RespondToRecommendationInput,
            strawberry.argument(description="The recommendation and the learner's answer."),
        ],
    ) -> Recommendation:
        row = await goal_service.respond(
            info.context.runtime,
            info.context.principal,
            input.id,
            input.response.value,
            input.note,
        )
        return Recommendation.from_row(row)


@strawberry.type
class RecommendationSubscription:
    @strawberry.subscription(
        description="The student's open recommendations now, then each new or changed one "
        "(answered, expired, superseded), from whichever process stored it."
    )
    async def recommendation_updated(
        self,
        info: Info,
        student_id: Annotated[
            strawberry.ID, strawberry.argument(description="The student (a LEARNER: its own).")
        ],
    ) -> AsyncGenerator[Recommendation, None]:
        runtime = info.context.runtime
        permissions.require_student(info.context.principal, student_id)
        seen: dict[str, str] = {}
        async with runtime.broker.watch(recommendation_channel(student_id)) as watch:
            first = True
            while True:
                for row in await goal_service.recent_recommendations(runtime, student_id):
                    if seen.get(row["id"]) != row["status"]:
                        if not first or row["status"] == "OPEN":
                            yield Recommendation.from_row(row)
                        seen[row["id"]] = row["status"]
                first = False
                await watch.wait(RESYNC_SECONDS)
