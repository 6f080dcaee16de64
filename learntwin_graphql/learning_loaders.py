"""The request's DataLoaders for skills, the learner model and the course catalogue, with
the same rules as `loaders.Loaders` (from `permissions`, applied to every key before
anything is read; catalogue rows the caller may not see are null, or left out of lists)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from db import classes, courses, skills
from db import learner_model as levels
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.loaders import Loader, Loaders, grouped_loader, keyed_loader
from ml.learner_model import band_range


def _pair_owner(principal: Any, pair: tuple[str, ...]) -> Any:
    return permissions.require_student(principal, pair[0])


Visible = Callable[[Principal, dict[str, Any]], bool]


def _course_visible(principal: Principal, row: dict[str, Any]) -> bool:
    return permissions.can_see_content(principal, row["published"])


def _module_visible(principal: Principal, row: dict[str, Any]) -> bool:
    return permissions.can_see_content(principal, row["course_published"])


def _lesson_visible(principal: Principal, row: dict[str, Any]) -> bool:
    return permissions.can_see_content(principal, row["course_published"], row["published"])


def _kept(rule: Visible, principal: Principal, value: Any) -> Any:
    if isinstance(value, list):
        return [row for row in value if rule(principal, row)]
    return value if value is not None and rule(principal, value) else None


class LearningLoaders(Loaders):
    def _visible(self, rule: Visible, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`fetch` for signed-in callers, with each catalogue row the caller may not see
        (`rule`) made None, or left out of a list of rows."""

        async def visible(ids: list[Any], *arguments: Any) -> Any:
            principal = self._principal()
            found = await fetch(ids, *arguments)
            return {key: _kept(rule, principal, value) for key, value in found.items()}

        return self._anyone(visible)

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
            p_range = band_range(band) if band else None
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

    # --- the course catalogue ------------------------------------------------------------

    @cached_property
    def course(self) -> Loader:
        """A course row, None when there is none or the caller may not see it."""
        return keyed_loader(
            self._visible(_course_visible, lambda ids: courses.courses_by_id(self._engine, ids))
        )

    @cached_property
    def course_prerequisites(self) -> Loader:
        """A course's prerequisite course ids (unfiltered: read them through `course`)."""
        return keyed_loader(
            self._anyone(lambda ids: courses.prerequisites_of(self._engine, "course", ids)),
            default=[],
        )

    @cached_property
    def course_modules(self) -> Loader:
        """A course's module rows in position order (none for a course the caller may not see)."""
        return keyed_loader(
            self._visible(
                _module_visible, lambda ids: courses.modules_of_courses(self._engine, ids)
            ),
            default=[],
        )

    @cached_property
    def course_lesson_ids(self) -> Loader:
        """A course's published, live lesson ids in course order (module, then lesson)."""
        return keyed_loader(
            self._anyone(lambda ids: courses.published_lesson_ids(self._engine, "course", ids)),
            default=[],
        )

    @cached_property
    def course_minutes(self) -> Loader:
        """The estimated minutes of a course's published, live lessons."""
        return keyed_loader(
            self._anyone(lambda ids: courses.published_minutes(self._engine, "course", ids)),
            default=0,
        )

    @cached_property
    def course_skill_ids(self) -> Loader:
        """The skill ids of a course's published, live lessons, in id order."""
        return keyed_loader(
            self._anyone(lambda ids: courses.course_skill_ids(self._engine, ids)), default=[]
        )

    @cached_property
    def module(self) -> Loader:
        """A module row, None when there is none or the caller may not see its course."""
        return keyed_loader(
            self._visible(_module_visible, lambda ids: courses.modules_by_id(self._engine, ids))
        )

    @cached_property
    def module_prerequisites(self) -> Loader:
        """A module's prerequisite module ids (earlier modules of its course)."""
        return keyed_loader(
            self._anyone(lambda ids: courses.prerequisites_of(self._engine, "module", ids)),
            default=[],
        )

    @cached_property
    def module_lessons(self) -> Loader:
        """A module's lesson rows the caller may see, in position order (each also
        primes `lesson`)."""
        visible = self._visible(
            _lesson_visible, lambda ids: courses.lessons_of_modules(self._engine, ids)
        )

        async def primed(ids: list[str]) -> Any:
            found = await visible(ids)
            for rows in found.values():
                for row in rows if isinstance(rows, list) else ():
                    self.lesson.prime(row["id"], row)
            return found

        return keyed_loader(primed, default=[])

    @cached_property
    def module_lesson_ids(self) -> Loader:
        """A module's published, live lesson ids in position order."""
        return keyed_loader(
            self._anyone(lambda ids: courses.published_lesson_ids(self._engine, "module", ids)),
            default=[],
        )

    @cached_property
    def module_minutes(self) -> Loader:
        """The estimated minutes of a module's published, live lessons."""
        return keyed_loader(
            self._anyone(lambda ids: courses.published_minutes(self._engine, "module", ids)),
            default=0,
        )

    @cached_property
    def lesson(self) -> Loader:
        """A live lesson row (with course_id, module_id, its completion rule and
        `course_published`), None when there is none or the caller may not see it."""
        return keyed_loader(
            self._visible(_lesson_visible, lambda ids: courses.lessons_by_id(self._engine, ids))
        )

    @cached_property
    def lesson_skills(self) -> Loader:
        """A lesson's skills: rows (skill_id, weight), the weights summing to 1."""
        return keyed_loader(
            self._anyone(lambda ids: courses.lesson_skills_of(self._engine, ids)), default=[]
        )

    @cached_property
    def lesson_prerequisites(self) -> Loader:
        """A lesson's prerequisites that are not deleted: rows (prerequisite_id,
        min_score, min_completion), unfiltered by publication (read them through `lesson`)."""
        return keyed_loader(
            self._anyone(lambda ids: courses.lesson_prerequisites_of(self._engine, ids)),
            default=[],
        )

    @cached_property
    def skill_lessons(self) -> Loader:
        """Keys (skill, after (difficulty, id) or None, limit): a page of the lessons that
        teach the skill, easiest first, those the caller may see."""

        async def pages(ids: list[str], after: tuple[int, str] | None, limit: int) -> Any:
            published_only = not permissions.sees_unpublished_content(self._principal())
            return await courses.lessons_of_skills(self._engine, ids, published_only, after, limit)

        return grouped_loader(self._visible(_lesson_visible, pages), default=lambda _: [])
