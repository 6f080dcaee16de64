"""Learning goals: target skills with target mastery, the gaps still open, the path that
closes them (versioned), and the mutations and subscription around them."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from learntwin_graphql import permissions
from learntwin_graphql.api.paths import LearningPath
from learntwin_graphql.api.skills import Skill, SkillLevel, skills_by_ids
from learntwin_graphql.batching import batched, load_each, load_together, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import Connection, after_position, build_connection, check_first
from learntwin_graphql.services import goals as goal_service
from ml.learning_paths import Target, gaps, goal_progress
from workers.keys import goal_channel

RESYNC_SECONDS = 30.0


@strawberry.enum(description="Where a goal stands.")
class GoalStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Pursued: its path is kept current.")
    PAUSED = strawberry.enum_value("PAUSED", description="Set aside; its path is not rebuilt.")
    COMPLETED = strawberry.enum_value(
        "COMPLETED", description="Every target skill reached its target mastery."
    )
    ABANDONED = strawberry.enum_value("ABANDONED", description="Given up.")


async def _goal_skills(info: Info, items: Sequence[GoalSkill]) -> list[Any]:
    found = await load_each(info.context.loaders.skill, [g.skill_id for g in items])
    return mapped(found, Skill.from_row)


@strawberry.type(description="A target skill of a goal.")
class GoalSkill:
    skill_id: strawberry.Private[str]
    target_mastery: float = strawberry.field(description="0 < t <= 1, default 0.95.")

    @strawberry.field(description="The skill.")
    @batched(_goal_skills)
    async def skill(self, info: Info) -> Skill:
        return await one(_goal_skills(info, [self]))


async def _gap_skills(info: Info, items: Sequence[KnowledgeGap]) -> list[Any]:
    found = await load_each(info.context.loaders.skill, [g.skill_id for g in items])
    return mapped(found, Skill.from_row)


async def _gap_blockers(info: Info, items: Sequence[KnowledgeGap]) -> list[Any]:
    return await skills_by_ids(info, [g.blocked_by_ids for g in items])


@strawberry.type(description="A target skill of a goal not yet at its target mastery.")
class KnowledgeGap:
    skill_id: strawberry.Private[str]
    blocked_by_ids: strawberry.Private[list[str]]
    p_mastery: float = strawberry.field(description="The student's mastery now.")
    target_mastery: float = strawberry.field(description="The goal's target for the skill.")

    @strawberry.field(description="The skill.")
    @batched(_gap_skills)
    async def skill(self, info: Info) -> Skill:
        return await one(_gap_skills(info, [self]))

    @strawberry.field(description="Unmastered prerequisites, nearest first.")
    @batched(_gap_blockers)
    async def blocked_by(self, info: Info) -> list[Skill]:
        return await one(_gap_blockers(info, [self]))


async def _mastery(info: Info, goals: Sequence[LearningGoal]) -> list[Any]:
    """Per goal: pMastery of its targets and their prerequisites, and the skill graph."""
    loaders = info.context.loaders
    graph = await loaders.skill_graph.load("all")
    from ml.skill_graph import ancestors

    keys = []
    for goal in goals:
        ids = {t.skill_id for t in goal.targets}
        keys += [(s, goal.student_id) for s in sorted(ids | ancestors(graph, ids))]
    rows = dict(zip(keys, await load_together(loaders.mastery, keys), strict=True))
    found = []
    for goal in goals:
        mine = {k[0]: v for k, v in rows.items() if k[1] == goal.student_id}
        errors = [v for v in mine.values() if isinstance(v, Exception)]
        found.append(
            errors[0] if errors else ({k: v["p_mastery"] for k, v in mine.items() if v}, graph)
        )
    return found


def _targets(goal: LearningGoal) -> list[Target]:
    return [Target(t.skill_id, t.target_mastery) for t in goal.targets]


async def _progress(info: Info, goals: Sequence[LearningGoal]) -> list[Any]:
    found = await _mastery(info, goals)
    return [
        m if isinstance(m, Exception) else goal_progress(_targets(g), m[0])
        for g, m in zip(goals, found, strict=True)
    ]


async def _gaps(info: Info, goals: Sequence[LearningGoal]) -> list[Any]:
    found = await _mastery(info, goals)
    return [
        m
        if isinstance(m, Exception)
        else [
            KnowledgeGap(
                skill_id=gap.skill_id,
                blocked_by_ids=list(gap.blocked_by),
                p_mastery=gap.p_mastery,
                target_mastery=gap.target_mastery,
            )
            for gap in gaps(_targets(g), m[0], m[1])
        ]
        for g, m in zip(goals, found, strict=True)
    ]


async def _paths(info: Info, goals: Sequence[LearningGoal]) -> list[Any]:
    found = await load_each(info.context.loaders.active_path, [g.id for g in goals])
    return mapped(found, lambda row: LearningPath.from_row(row) if row else None)


async def _versions(
    info: Info, goals: Sequence[LearningGoal], first: int = 20, after: str | None = None
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    before = after_position(after, int)
    found = await load_each(
        info.context.loaders.goal_paths, [(g.id, before, first + 1) for g in goals]
    )
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda r: (r["version"],), node=LearningPath.from_row, after=after
        ),
    )


@strawberry.type(description="What a student means to master, and by when.")
class LearningGoal:
    id: strawberry.ID = strawberry.field(description="Server-made: `goal-` and hex digits.")
    student_id: strawberry.ID = strawberry.field(description="The student.")
    description: str = strawberry.field(description="In the learner's words.")
    target_skills: list[GoalSkill] = strawberry.field(description="In the goal's order.")
    target_date: date | None = strawberry.field(description="When the learner aims to be done.")
    weekly_minutes: int | None = strawberry.field(
        description="Planned study minutes a week; null: no plan."
    )
    status: GoalStatus = strawberry.field(description="ACTIVE, PAUSED, COMPLETED or ABANDONED.")
    initial_snapshot: list[SkillLevel] = strawberry.field(
        description="The target skills' levels when the goal was created."
    )
    created_at: datetime = strawberry.field(description="When the goal was created.")
    updated_at: datetime = strawberry.field(description="The last edit.")
    completed_at: datetime | None = strawberry.field(description="When it became COMPLETED.")

    @property
    def targets(self) -> list[GoalSkill]:
        return self.target_skills

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LearningGoal:
        return cls(
            id=row["id"],
            student_id=row["student_id"],
            description=row["description"],
            target_skills=[
                GoalSkill(skill_id=t["skill_id"], target_mastery=t["target_mastery"])
                for t in row["targets"]
            ],
            target_date=row["target_date"],
            weekly_minutes=row["weekly_minutes"],
            status=GoalStatus(row["status"]),
            initial_snapshot=[
                _snapshot_level(row["student_id"], s) for s in row["initial_snapshot"]
            ],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            completed_at=row["completed_at"],
        )

    @strawberry.field(description="Share of target skills at their target mastery, 0..1.")
    @batched(_progress)
    async def progress(self, info: Info) -> float:
        return await one(_progress(info, [self]))

    @strawberry.field(description="The target skills below target, with what blocks them.")
    @batched(_gaps)
    async def gaps(self, info: Info) -> list[KnowledgeGap]:
        return await one(_gaps(info, [self]))

    @strawberry.field(description="The active version.")
    @batched(_paths)
    async def path(self, info: Info) -> LearningPath | None:
        return await one(_paths(info, [self]))

    @strawberry.field(description="Every version, newest first.")
    @batched(_versions)
    async def path_versions(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the last edge read.")
        ] = None,
    ) -> Connection[LearningPath]:
        return await one(_versions(info, [self], first, after))


def _snapshot_level(student_id: str, stored: dict[str, Any]) -> SkillLevel:
    at = stored.get("last_practiced_at")
    row = {
        **stored,
        "student_id": student_id,
        "recent": stored.get("recent", []),
        "last_practiced_at": datetime.fromisoformat(at) if at else None,
        "card": None,
    }
    return SkillLevel.from_row(row)


@strawberry.input(description="A target skill of a goal.")
class GoalSkillInput:
    skill_id: strawberry.ID = strawberry.field(description="An existing skill.")
    target_mastery: float = strawberry.field(default=0.95, description="0 < t <= 1.")


@strawberry.input(description="A new learning goal.")
class CreateGoalInput:
    student_id: strawberry.ID = strawberry.field(description="Learners: their own student.")
    description: str = strawberry.field(description="1..2000 characters, not blank.")
    target_skills: list[GoalSkillInput] = strawberry.field(description="1..50 skills.")
    target_date: date | None = strawberry.field(default=None, description="When to be done.")
    weekly_minutes: int | None = strawberry.field(
        default=None, description="Planned study minutes a week, >= 1."
    )


@strawberry.input(description="Changes to a goal; fields left out stay as they are.")
class UpdateGoalInput:
    id: strawberry.ID = strawberry.field(description="The goal.")
    description: str | None = strawberry.field(default=None, description="1..2000 characters.")
    target_skills: list[GoalSkillInput] | None = strawberry.field(
        default=None, description="Replaces the targets (1..50)."
    )
    target_date: date | None = strawberry.field(default=None, description="When to be done.")
    weekly_minutes: int | None = strawberry.field(default=None, description=">= 1.")
    status: GoalStatus | None = strawberry.field(
        default=None, description="ACTIVE, PAUSED or ABANDONED (COMPLETED is the server's)."
    )


def _write(input: CreateGoalInput | UpdateGoalInput) -> goal_service.GoalWrite:
    targets = input.target_skills
    status = getattr(input, "status", None)
    return goal_service.GoalWrite(
        description=input.description,
        targets=None if targets is None else [(t.skill_id, t.target_mastery) for t in targets],
        target_date=input.target_date,
        weekly_minutes=input.weekly_minutes,
        status=status.value if status is not None else None,
    )


@strawberry.type
class GoalQuery:
    @strawberry.field(description="A goal by id; null when there is none.")
    async def learning_goal(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The goal's id.")],
    ) -> LearningGoal | None:
        row = await info.context.loaders.goal.load(id)
        return LearningGoal.from_row(row) if row else None

    @strawberry.field(description="A path version by id; null when there is none.")
    async def learning_path(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The path version's id.")],
    ) -> LearningPath | None:
        row = await info.context.loaders.path.load(id)
        return LearningPath.from_row(row) if row else None


@strawberry.type
class GoalMutation:
    @strawberry.mutation(
        description="A new ACTIVE goal (learners for themselves, staff for anyone) with "
        "version 1 of its path built in the same request."
    )
    async def create_learning_goal(
        self,
        info: Info,
        input: Annotated[CreateGoalInput, strawberry.argument(description="The new goal.")],
    ) -> LearningGoal:
        row = await goal_service.create(
            info.context.runtime, info.context.principal, input.student_id, _write(input)
        )
        return LearningGoal.from_row(row)

    @strawberry.mutation(description="Edit a goal; its path is rebuilt at once.")
    async def update_learning_goal(
        self,
        info: Info,
        input: Annotated[
            UpdateGoalInput,
            strawberry.argument(
                description="The goal and its new values; fields left null keep theirs."
            ),
        ],
    ) -> LearningGoal:
        row = await goal_service.update(
            info.context.runtime, info.context.principal, input.id, _write(input)
        )
        info.context.loaders.active_path.clear(row["id"])
        return LearningGoal.from_row(row)

    @strawberry.mutation(
        description="Rebuilds now; returns the active version (the same one when the steps "
        "did not change)."
    )
    async def recompute_learning_path(
        self,
        info: Info,
        goal_id: Annotated[
            strawberry.ID, strawberry.argument(description="The goal whose path to rebuild.")
        ],
    ) -> LearningPath:
        row = await goal_service.recompute(info.context.runtime, info.context.principal, goal_id)
        return LearningPath.from_row(row)


@strawberry.type
class GoalSubscription:
    @strawberry.subscription(
        description="The goal's active path now, then each new version, from whichever "
        "process stored it."
    )
    async def learning_path_updated(
        self,
        info: Info,
        goal_id: Annotated[
            strawberry.ID, strawberry.argument(description="The goal whose path to follow.")
        ],
    ) -> AsyncGenerator[LearningPath, None]:
        runtime, principal = info.context.runtime, info.context.principal
        permissions.require_authenticated(principal)
        async with runtime.broker.watch(goal_channel(goal_id)) as watch:
            await goal_service.goal_for(runtime, principal, goal_id, "goalId")
            last = None
            while True:
                row = await goal_service.active_path(runtime, goal_id)
                if row is not None and row["id"] != last:
                    last = row["id"]
                    yield LearningPath.from_row(row)
                await watch.wait(RESYNC_SECONDS)
