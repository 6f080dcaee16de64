"""Skills and the learner model: skills with their prerequisite graph, a student's
per-skill levels (BKT mastery with an FSRS review schedule) and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db import learner_model as levels_db
from learntwin_graphql.api.docs import After, First
from learntwin_graphql.batching import batched, load_each, mapped, one
from learntwin_graphql.context import Info
from learntwin_graphql.pagination import (
    Connection,
    after_position,
    build_connection,
    check_first,
)
from ml.learner_model import (
    TracingParams,
    band,
    card_due,
    card_retrievability,
    card_stability,
    level,
    p_correct_next,
)

if TYPE_CHECKING:  # api/courses.py imports this module (a lesson teaches skills): lazy here
    from learntwin_graphql.api.courses import Lesson

LessonType = Annotated["Lesson", strawberry.lazy("learntwin_graphql.api.courses")]

RESYNC_SECONDS = 30.0
RECENT = 5


@strawberry.enum(
    description="Band of pMastery: NOT_STARTED before any evidence, then <0.2 NOVICE, "
    "<0.6 DEVELOPING, <0.95 PROFICIENT, >=0.95 MASTERED."
)
class MasteryBand(Enum):
    NOT_STARTED = strawberry.enum_value("NOT_STARTED", description="No evidence yet.")
    NOVICE = strawberry.enum_value("NOVICE", description="pMastery below 0.2.")
    DEVELOPING = strawberry.enum_value("DEVELOPING", description="pMastery 0.2 to below 0.6.")
    PROFICIENT = strawberry.enum_value("PROFICIENT", description="pMastery 0.6 to below 0.95.")
    MASTERED = strawberry.enum_value("MASTERED", description="pMastery 0.95 or more.")


@strawberry.enum(description="What a mastery update was derived from.")
class EvidenceSource(Enum):
    QUIZ_ANSWER = strawberry.enum_value("QUIZ_ANSWER", description="A graded quiz answer.")
    LESSON_SCORE = strawberry.enum_value("LESSON_SCORE", description="A scored lesson activity.")
    METRIC = strawberry.enum_value("METRIC", description="A class metric naming a skill or lesson.")
    XAPI = strawberry.enum_value("XAPI", description="An xAPI statement.")


@strawberry.type(description="Bayesian Knowledge Tracing parameters of a skill.")
class KnowledgeTracingParams:
    prior: float = strawberry.field(description="P(known) before any evidence.")
    learn: float = strawberry.field(description="P(learning) at each opportunity.")
    guess: float = strawberry.field(description="P(correct | not known); at most 0.3.")
    slip: float = strawberry.field(description="P(wrong | known); at most 0.1.")
    forget: float = strawberry.field(description="P(forgetting) at each opportunity.")


def _tracing(row: dict[str, Any]) -> TracingParams:
    return TracingParams(*(row[k] for k in ("prior", "learn", "guess", "slip", "forget")))


async def _prerequisites(info: Info, skills: Sequence[Skill]) -> list[Any]:
    return await _related(info, "skill_prerequisites", skills)


async def _dependents(info: Info, skills: Sequence[Skill]) -> list[Any]:
    return await _related(info, "skill_dependents", skills)


async def _related(info: Info, loader: str, skills: Sequence[Skill]) -> list[Any]:
    ids = await load_each(getattr(info.context.loaders, loader), [s.id for s in skills])
    found = iter(await skills_by_ids(info, [i for i in ids if not isinstance(i, Exception)]))
    return [i if isinstance(i, Exception) else next(found) for i in ids]


async def skills_by_ids(info: Info, groups: Sequence[Sequence[str]]) -> list[list[Skill]]:
    """Each group of skill ids as Skills, in one batch; unknown ids are left out."""
    wanted = list(dict.fromkeys(i for group in groups for i in group))
    rows = dict(zip(wanted, await load_each(info.context.loaders.skill, wanted), strict=True))
    return [
        [Skill.from_row(rows[i]) for i in group if isinstance(rows[i], dict)] for group in groups
    ]


async def _lessons(
    info: Info, skills: Sequence[Skill], first: int = 20, after: str | None = None
) -> list[Any]:
    from learntwin_graphql.api.courses import skill_lessons  # see LessonType

    return await skill_lessons(info, skills, first, after)


@strawberry.type(
    description="A unit of knowledge. Quiz questions (Question.skill), lessons and goals "
    "point at skills by id."
)
class Skill:
    id: strawberry.ID = strawberry.field(description="Slug: 1..64 of [a-z0-9-].")
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the skill covers.")
    knowledge_tracing: KnowledgeTracingParams = strawberry.field(
        description="Bayesian Knowledge Tracing parameters of this skill."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Skill:
        return cls(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            knowledge_tracing=KnowledgeTracingParams(**vars(_tracing(row))),
        )

    @strawberry.field(
        description="Skills to master first (a DAG; a write that would close a cycle is refused)."
    )
    @batched(_prerequisites)
    async def prerequisites(self, info: Info) -> list[Skill]:
        return await one(_prerequisites(info, [self]))

    @strawberry.field(description="Skills that name this one as a prerequisite.")
    @batched(_dependents)
    async def dependents(self, info: Info) -> list[Skill]:
        return await one(_dependents(info, [self]))

    @strawberry.field(
        description="Published lessons that teach the skill, easiest first (difficulty, then "
        "id); staff also see unpublished ones."
    )
    @batched(_lessons)
    async def lessons(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="The cursor of the last edge read.")
        ] = None,
    ) -> Connection[LessonType]:
        return await one(_lessons(info, [self], first, after))


@strawberry.type(description="One update of a student's level on a skill.")
class MasteryEvent:
    id: strawberry.ID = strawberry.field(description="Grows with the order of application.")
    at: datetime = strawberry.field(description="When the evidence happened.")
    source: EvidenceSource = strawberry.field(description="What kind of evidence it was.")
    source_id: strawberry.ID | None = strawberry.field(
        description="The quiz attempt, lesson, metric or statement that caused it."
    )
    correct: bool | None = strawberry.field(description="The observed outcome.")
    weight: float = strawberry.field(
        description="1 for a graded answer, less for soft evidence such as a class metric."
    )
    p_mastery_before: float = strawberry.field(description="pMastery before the update.")
    p_mastery_after: float = strawberry.field(description="pMastery after the update.")
    review_rating: int | None = strawberry.field(
        description="FSRS rating derived from the evidence: 1 Again, 2 Hard, 3 Good, 4 Easy."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MasteryEvent:
        return cls(
            id=strawberry.ID(str(row["id"])),
            at=row["at"],
            source=EvidenceSource(row["source"]),
            source_id=row["source_id"],
            correct=row["correct"],
            weight=row["weight"],
            p_mastery_before=row["p_before"],
            p_mastery_after=row["p_after"],
            review_rating=row["review_rating"],
        )


async def _level_skills(info: Info, levels: Sequence[SkillLevel]) -> list[Any]:
    found = await load_each(info.context.loaders.skill, [lv.skill_id for lv in levels])
    return mapped(found, Skill.from_row)


async def _histories(
    info: Info, levels: Sequence[SkillLevel], first: int = 20, after: str | None = None
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    before = after_position(after, int)
    found = await load_each(
        info.context.loaders.level_events,
        [((lv.student_id, lv.skill_id), before, first + 1) for lv in levels],
    )
    return mapped(
        found,
        lambda rows: build_connection(
            rows, first, key=lambda row: (row["id"],), node=MasteryEvent.from_row, after=after
        ),
    )


@strawberry.type(
    description="One student's state on one skill: BKT mastery plus an FSRS review schedule."
)
class SkillLevel:
    skill_id: strawberry.Private[str]
    student_id: strawberry.ID = strawberry.field(description="The student.")
    p_mastery: float = strawberry.field(
        description="BKT posterior after the last observation, 0..1 (the prior before any)."
    )
    p_correct_next: float = strawberry.field(description="pMastery*(1-slip) + (1-pMastery)*guess.")
    level: int = strawberry.field(description="1..10: round(1 + 9*pMastery).")
    band: MasteryBand = strawberry.field(description="The band pMastery falls in.")
    opportunities: int = strawberry.field(description="Observations applied so far.")
    correct: int = strawberry.field(description="Correct observations among them.")
    recent_accuracy: float | None = strawberry.field(
        description="Share correct over the last 5 opportunities; null before any."
    )
    last_practiced_at: datetime | None = strawberry.field(description="The newest evidence's time.")
    retrievability: float | None = strawberry.field(
        description="FSRS probability of recall now; null before the first review."
    )
    stability: float | None = strawberry.field(description="FSRS stability in days.")
    next_review_at: datetime | None = strawberry.field(
        description="When FSRS schedules the next review (desired retention 0.9)."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any], now: datetime | None = None) -> SkillLevel:
        p, params, card = row["p_mastery"], _tracing(row), row["card"]
        recent = list(row["recent"])[-RECENT:]
        return cls(
            skill_id=row["skill_id"],
            student_id=row["student_id"],
            p_mastery=p,
            p_correct_next=p_correct_next(p, params),
            level=level(p),
            band=MasteryBand(band(p, row["opportunities"])),
            opportunities=row["opportunities"],
            correct=row["correct"],
            recent_accuracy=sum(recent) / len(recent) if recent else None,
            last_practiced_at=row["last_practiced_at"],
            retrievability=card_retrievability(card, now or datetime.now(UTC)),
            stability=card_stability(card),
            next_review_at=card_due(card),
        )

    @strawberry.field(description="The skill.")
    @batched(_level_skills)
    async def skill(self, info: Info) -> Skill:
        return await one(_level_skills(info, [self]))

    @strawberry.field(description="Every update, newest first.")
    @batched(_histories)
    async def history(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[MasteryEvent]:
        return await one(_histories(info, [self], first, after))


def levels_of(
    rows: list[dict[str, Any]], first: int, after: str | None = None
) -> Connection[SkillLevel]:
    now = datetime.now(UTC)
    return build_connection(
        rows,
        first,
        key=lambda row: (row["skill_id"],),
        node=lambda r: SkillLevel.from_row(r, now),
        after=after,
    )


async def _timezones(info: Info, students: Sequence[Any]) -> list[Any]:
    return await load_each(info.context.loaders.timezone, [s.id for s in students])


async def _student_levels(
    info: Info,
    students: Sequence[Any],
    band: MasteryBand | None = None,
    first: int = 50,
    after: str | None = None,
) -> list[Any]:
    check_first(first, info.context.settings.max_page_size)
    position = after_position(after, str)
    name = band.value if band is not None else None
    found = await load_each(
        info.context.loaders.level_pages, [(s.id, name, position, first + 1) for s in students]
    )
    return mapped(found, lambda rows: levels_of(rows, first, after))


async def _student_level(info: Info, students: Sequence[Any], id: str) -> list[Any]:
    loaders = info.context.loaders
    found = await load_each(loaders.level, [(s.id, id) for s in students])
    skill = await loaders.skill.load(id)
    now = datetime.now(UTC)

    if not skill:
        return mapped(found, lambda _: None)
    return mapped(
        [
            f if isinstance(f, Exception) else (s.id, f)
            for s, f in zip(students, found, strict=True)
        ],
        lambda pair: SkillLevel.from_row(pair[1] or levels_db.at_prior(pair[0], skill), now),
    )


@strawberry.type
class StudentLearning:
    """The learner-model fields of Student (Student inherits them)."""

    id: strawberry.ID

    @strawberry.field(description="IANA time zone for days, hours and streaks; UTC until set.")
    @batched(_timezones)
    async def timezone(self, info: Info) -> str:
        return await one(_timezones(info, [self]))

    @strawberry.field(
        description="The student's levels in skill-id order: those with evidence, or with "
        "`band` those in that band (NOT_STARTED: the skills without evidence, at their prior)."
    )
    @batched(_student_levels)
    async def skills(
        self,
        info: Info,
        band: Annotated[
            MasteryBand | None,
            strawberry.argument(description="Only skills in this band; null: every band."),
        ] = None,
        first: First = 50,
        after: After = None,
    ) -> Connection[SkillLevel]:
        return await one(_student_levels(info, [self], band, first, after))

    @strawberry.field(
        description="The level on one skill (at its prior before any evidence); null for an unknown skill."
    )
    @batched(_student_level)
    async def skill(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The skill's id.")],
    ) -> SkillLevel | None:
        return await one(_student_level(info, [self], id))
