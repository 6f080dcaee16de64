"""The request's DataLoaders for goals, path versions, recommendations and dashboards,
on top of the progress loaders; every row is checked with `permissions.require_student`
against the student it belongs to before anyone sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cached_property
from typing import Any

from db import goals, learner_reads, recommendations
from learntwin_graphql import permissions
from learntwin_graphql.errors import ApiError
from learntwin_graphql.loaders import Loader, grouped_loader, keyed_loader
from learntwin_graphql.progress_loaders import ProgressLoaders
from learntwin_graphql.services import dashboard


def owned(principal: Any, row: dict[str, Any]) -> Any:
    return permissions.require_student(principal, row["student_id"])


def _second_owner(principal: Any, pair: tuple[str, str]) -> Any:
    return permissions.require_student(principal, pair[1])


class PlanLoaders(ProgressLoaders):
    def _owned_lists(self, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`fetch` of lists of rows per key; a key whose rows the caller may not see fails."""

        async def checked(ids: list[Any], *arguments: Any) -> Any:
            principal = self._principal()
            found = await fetch(ids, *arguments)
            for key, rows in list(found.items()):
                try:
                    for row in rows:
                        owned(principal, row)
                except ApiError as error:
                    found[key] = error
            return found

        return self._anyone(checked)

    @cached_property
    def goal(self) -> Loader:
        return keyed_loader(self._rows(owned, lambda ids: goals.goals_by_id(self._engine, ids)))

    @cached_property
    def student_goals(self) -> Loader:
        """Keys (student, status or None, after, limit): a page of goals in id order."""
        return grouped_loader(
            self._student(
                lambda ids, status, after, limit: goals.goal_pages(
                    self._engine, ids, status, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def path(self) -> Loader:
        return keyed_loader(self._rows(owned, lambda ids: goals.paths_by_id(self._engine, ids)))

    @cached_property
    def active_path(self) -> Loader:
        """Keys: goal ids; the active version, None before the first."""
        return keyed_loader(self._rows(owned, lambda ids: goals.active_paths(self._engine, ids)))

    @cached_property
    def goal_paths(self) -> Loader:
        """Keys (goal, before version, limit): versions newest first."""
        return grouped_loader(
            self._owned_lists(
                lambda ids, before, limit: goals.path_pages(self._engine, ids, before, limit)
            ),
            default=lambda _: [],
        )

    @cached_property
    def mastery(self) -> Loader:
        """Keys (skill, student): {"p_mastery"}, at the prior without evidence (None for
        an unknown skill)."""
        return keyed_loader(
            self._keys(
                _second_owner, lambda pairs: learner_reads.mastery_of_pairs(self._engine, pairs)
            )
        )

    @cached_property
    def step_progress(self) -> Loader:
        """Keys (lesson, student): {"status"} of the stored progress, None before any."""
        return keyed_loader(
            self._keys(
                _second_owner, lambda pairs: learner_reads.progress_of_pairs(self._engine, pairs)
            )
        )

    @cached_property
    def skill_graph(self) -> Loader:
        """Key "all": every skill's prerequisites."""

        async def fetch(keys: list[Any]) -> dict[Any, Any]:
            graph = await learner_reads.skill_graph(self._engine)
            return dict.fromkeys(keys, graph)

        return keyed_loader(self._anyone(fetch))

    @cached_property
    def recommendation(self) -> Loader:
        return keyed_loader(self._rows(owned, lambda ids: recommendations.by_id(self._engine, ids)))

    @cached_property
    def student_recommendations(self) -> Loader:
        """Keys (student, status, kind, after, limit): a page, newest first."""
        return grouped_loader(
            self._student(
                lambda ids, status, kind, after, limit: recommendations.pages(
                    self._engine, ids, status, kind, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def open_recommendations(self) -> Loader:
        """Keys (student, limit): the open ones by priority."""
        return grouped_loader(
            self._student(
                lambda ids, limit: recommendations.open_by_priority(self._engine, ids, limit)
            ),
            default=lambda _: [],
        )

    @cached_property
    def dashboard(self) -> Loader:
        """Keys (student, from, to, time zone or None): a services.dashboard.DashboardData."""

        async def fetch(
            ids: list[str], start: datetime, end: datetime, zone: str | None
        ) -> dict[str, Any]:
            return await dashboard.build(self._engine, ids, start, end, zone)

        return grouped_loader(self._student(fetch), default=lambda _: None)
