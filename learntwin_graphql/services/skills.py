"""Skills: batches created or updated with their prerequisite graph checked, and their
knowledge-tracing parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db import learner_model as levels_db
from db import skills as skills_db
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import goals
from ml.learner_model import InvalidParameter, TracingParams, check_tracing, is_skill_id
from ml.skill_graph import GraphError, check_graph, merged_graph

NAME_MAX = 200
DESCRIPTION_MAX = 5000
MAX_BATCH = 500
# A subscription follows at most this many of a student's levels.
MAX_LEVELS = 1000


@dataclass(frozen=True)
class SkillWrite:
    id: str
    name: str
    description: str | None
    prerequisite_ids: Sequence[str]


def _checked(index: int, skill: SkillWrite) -> dict[str, Any]:
    where = f"skills.{index}"
    if not is_skill_id(skill.id):
        raise BadUserInput(
            f"Skill id {skill.id!r} is not a slug: 1..64 of a-z, 0-9 and '-'.", field=f"{where}.id"
        )
    name = skill.name.strip()
    if not name or len(name) > NAME_MAX:
        raise BadUserInput(f"`name` must be 1..{NAME_MAX} characters.", field=f"{where}.name")
    description = skill.description.strip() if skill.description else None
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise BadUserInput(
            f"`description` must be at most {DESCRIPTION_MAX} characters.",
            field=f"{where}.description",
        )
    for number, prerequisite in enumerate(skill.prerequisite_ids):
        if not is_skill_id(prerequisite):
            raise BadUserInput(
                f"Prerequisite {prerequisite!r} is not a skill id.",
                field=f"{where}.prerequisiteIds.{number}",
            )
    return {
        "id": skill.id,
        "name": name,
        "description": description or None,
        "prerequisite_ids": list(skill.prerequisite_ids),
    }


async def upsert(runtime: Runtime, principal: Principal, batch: Sequence[SkillWrite]) -> list[str]:
    """Create or update the skills in one transaction (staff); a bad slug, an unknown
    prerequisite or a cycle refuses the whole batch (BAD_USER_INPUT naming them)."""
    permissions.require_staff(principal)
    if not 1 <= len(batch) <= MAX_BATCH:
        raise BadUserInput(f"Send 1..{MAX_BATCH} skills at a time.", field="skills")
    rows = [_checked(i, s) for i, s in enumerate(batch)]
    ids = [row["id"] for row in rows]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise BadUserInput(f"Skills named twice in the batch: {', '.join(twice)}.", field="skills")
    async with runtime.engine.begin() as conn:
        await skills_db.lock_graph(conn)
        graph = merged_graph(
            await skills_db.graph(conn), {row["id"]: row["prerequisite_ids"] for row in rows}
        )
        try:
            check_graph(graph)
        except GraphError as error:
            raise BadUserInput(str(error), field="skills", skillIds=error.ids) from None
        await skills_db.upsert(conn, rows)
    await goals.content_changed(runtime)
    return ids


async def set_tracing(
    runtime: Runtime, principal: Principal, skill_id: str, params: TracingParams
) -> dict[str, Any]:
    """Replace a skill's BKT parameters (staff); out of range is BAD_USER_INPUT naming the
    field. Levels already stored keep their estimate; new evidence uses the new ones."""
    permissions.require_staff(principal)
    try:
        check_tracing(params)
    except InvalidParameter as error:
        raise BadUserInput(str(error), field=f"input.{error.field}") from None
    async with runtime.engine.begin() as conn:
        row = await skills_db.set_tracing(conn, skill_id, vars(params))
    if row is None:
        raise NotFound(f"No skill {skill_id!r}.", field="input.skillId")
    await goals.content_changed(runtime)
    return row


async def page(
    runtime: Runtime, principal: Principal, search: str | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` skills after `after` (any signed-in caller: skills are content)."""
    permissions.require_authenticated(principal)
    if search is not None and len(search) > NAME_MAX:
        raise BadUserInput(f"`search` must be at most {NAME_MAX} characters.", field="search")
    return await skills_db.page(runtime.reads, search or None, after, limit)


async def levels_now(
    runtime: Runtime, student_id: str, skill_id: str | None
) -> list[dict[str, Any]]:
    """The student's levels as stored now: one skill's (at its prior without evidence;
    none for an unknown skill), or every practiced one (a subscription's state)."""
    if skill_id is not None:
        found = await levels_db.levels_of_pairs(runtime.reads, [(student_id, skill_id)])
        if found:
            return list(found.values())
        skill = (await skills_db.by_id(runtime.reads, [skill_id])).get(skill_id)
        return [levels_db.at_prior(student_id, skill)] if skill else []
    pages = await levels_db.level_pages(runtime.reads, [student_id], None, MAX_LEVELS, None, True)
    return pages.get(student_id, [])
