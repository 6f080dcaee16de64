"""The request's DataLoaders for skills and the learner model, with the same rules as
`loaders.Loaders` (from `permissions`, applied to every key before anything is read)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from db import classes, skills
from db import learner_model as levels
from learntwin_graphql import permissions
from learntwin_graphql.loaders import Loader, Loaders, grouped_loader, keyed_loader
from ml.learner_model import MASTERED_AT

# pMastery range of each band (NOT_STARTED: no evidence yet, read separately).
BAND_RANGES: dict[str, tuple[float, float]] = {
    "NOVICE": (0.0, 0.2),
    "DEVELOPING": (0.2, 0.6),
    "PROFICIENT": (0.6, MASTERED_AT),
    "MASTERED": (MASTERED_AT, 2.0),
}


def _pair_owner(principal: Any, pair: tuple[str, ...]) -> Any:
    return permissions.require_student(principal, pair[0])


class LearningLoaders(Loaders):
    @cached_property
    def skill(self) -> Loader:
        return keyed_loader(self._anyone(lambda ids: skills.by_id(self._engine, ids)))

    @cached_property
    def skill_prerequisites(self) -> Loader:
        return keyed_loader(
            self._anyone(lambda ids: skills.prerequisites_of(self._engine, ids)), default=[]
        )

    @cached_property
    def skill_dependents(self) -> Loader:
        return keyed_loader(
            self._anyone(lambda ids: skills.dependents_of(self._engine, ids)), default=[]
        )

    @cached_property
    def level(self) -> Loader:
        """A (student, skill) pair's stored level, None without evidence."""
        return keyed_loader(
            self._keys(_pair_owner, lambda pairs: levels.levels_of_pairs(self._engine, pairs))
        )

    @cached_property
    def level_pages(self) -> Loader:
        """Keys (student, band or None, after, limit): a page of the student's levels."""

        async def pages(ids: list[str], band: str | None, after: str | None, limit: int) -> Any:
            if band == "NOT_STARTED":
                return await levels.untouched_pages(self._engine, ids, after, limit)
            p_range = BAND_RANGES.get(band) if band else None
            return await levels.level_pages(self._engine, ids, after, limit, p_range, True)

        return grouped_loader(self._student(pages), default=lambda _: [])

    @cached_property
    def level_events(self) -> Loader:
        """Keys ((student, skill), before id, limit): a page of the pair's history."""
        return grouped_loader(
            self._keys(
                _pair_owner,
                lambda pairs, before, limit: levels.event_pages(self._engine, pairs, before, limit),
            ),
            default=lambda _: [],
        )

    @cached_property
    def timezone(self) -> Loader:
        return keyed_loader(
            self._student(lambda ids: classes.timezones_of(self._engine, ids)), default="UTC"
        )
