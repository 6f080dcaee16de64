"""The skill catalogue's root operations: reading skills, upserting them with their
prerequisite graph, setting their tracing parameters, and following a student's levels."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated

import strawberry

from learntwin_graphql import permissions
from learntwin_graphql.api.docs import After, First
from learntwin_graphql.api.skills import RESYNC_SECONDS, Skill, SkillLevel
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import Connection, after_position, build_connection, check_first
from learntwin_graphql.services import skills as skill_service
from ml.learner_model import TracingParams
from workers.keys import skill_channel


@strawberry.input(description="A skill to create or update.")
class SkillInput:
    id: strawberry.ID = strawberry.field(description="Slug: 1..64 of [a-z0-9-].")
    name: str = strawberry.field(description="Display name, 1..200 characters.")
    description: str | None = strawberry.field(default=None, description="What it covers.")
    prerequisite_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Skills to master first; replaces the stored list."
    )


@strawberry.input(description="New Bayesian Knowledge Tracing parameters of a skill.")
class KnowledgeTracingInput:
    skill_id: strawberry.ID = strawberry.field(description="The skill.")
    prior: float = strawberry.field(description="0 < prior < 1.")
    learn: float = strawberry.field(description="0 < learn < 1.")
    guess: float = strawberry.field(description="0 <= guess <= 0.3.")
    slip: float = strawberry.field(description="0 <= slip <= 0.1.")
    forget: float = strawberry.field(default=0.0, description="0 <= forget < 1.")


@strawberry.type
class SkillQuery:
    @strawberry.field(description="A skill by id; null when there is none.")
    async def skill(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The skill's id (its slug).")],
    ) -> Skill | None:
        row = await info.context.loaders.skill.load(id)
        return Skill.from_row(row) if row else None

    @strawberry.field(
        description="Skills in id order, optionally those whose id or name contains `search`."
    )
    async def skills(
        self,
        info: Info,
        search: Annotated[
            str | None,
            strawberry.argument(
                description="Only skills whose id or name contains this text; null: every skill."
            ),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> Connection[Skill]:
        check_first(first, info.context.settings.max_page_size)
        rows = await skill_service.page(
            info.context.runtime,
            info.context.principal,
            search,
            after_position(after, str),
            first + 1,
        )
        return build_connection(
            rows, first, key=lambda row: (row["id"],), node=Skill.from_row, after=after
        )


async def _skills_by_id(info: Info, ids: list[str]) -> list[Skill]:
    info.context.loaders.skill.clear_all()
    rows = await info.context.loaders.skill.load_many(ids)
    return [Skill.from_row(row) for row in rows]


@strawberry.type
class SkillMutation:
    @strawberry.mutation(
        description="Staff. Creates or updates skills in one transaction; a bad slug, an "
        "unknown prerequisite or a prerequisite cycle is BAD_USER_INPUT naming them, and "
        "nothing of the batch is stored."
    )
    async def upsert_skills(
        self,
        info: Info,
        skills: Annotated[
            list[SkillInput],
            strawberry.argument(description="The skills to create or update, by id (1 or more)."),
        ],
    ) -> list[Skill]:
        writes = [
            skill_service.SkillWrite(s.id, s.name, s.description, list(s.prerequisite_ids))
            for s in skills
        ]
        ids = await skill_service.upsert(info.context.runtime, info.context.principal, writes)
        return await _skills_by_id(info, ids)

    @strawberry.mutation(description="Staff. Replaces a skill's knowledge-tracing parameters.")
    async def set_knowledge_tracing(
        self,
        info: Info,
        input: Annotated[
            KnowledgeTracingInput,
            strawberry.argument(description="The skill and its new parameters."),
        ],
    ) -> Skill:
        params = TracingParams(input.prior, input.learn, input.guess, input.slip, input.forget)
        row = await skill_service.set_tracing(
            info.context.runtime, info.context.principal, input.skill_id, params
        )
        return Skill.from_row(row)


@strawberry.type
class SkillSubscription:
    @strawberry.subscription(
        description="The student's skill levels now, then each one as soon as it changes."
    )
    async def skill_level_updated(
        self,
        info: Info,
        student_id: Annotated[
            strawberry.ID, strawberry.argument(description="The student (a LEARNER: its own).")
        ],
        skill_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this skill; null: every skill of the student."),
        ] = None,
    ) -> AsyncGenerator[SkillLevel, None]:
        runtime = info.context.runtime
        permissions.require_student(info.context.principal, student_id)
        seen: dict[str, tuple[int, float]] = {}
        async with runtime.broker.watch(skill_channel(student_id)) as watch:
            while True:
                rows = await skill_service.levels_now(runtime, student_id, skill_id)
                now = datetime.now(UTC)
                for row in rows:
                    state = (row["opportunities"], row["p_mastery"])
                    if seen.get(row["skill_id"]) != state:
                        seen[row["skill_id"]] = state
                        yield SkillLevel.from_row(row, now)
                await watch.wait(RESYNC_SECONDS)
