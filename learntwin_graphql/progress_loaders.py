"""The request's DataLoaders for enrolments, lesson progress and availability, on top of
the catalogue and learner-model loaders; the student of every key is checked with
`permissions.require_student` before anything is read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from db import enrollments
from learntwin_graphql import permissions
from learntwin_graphql.learning_loaders import LearningLoaders
from learntwin_graphql.loaders import Loader, grouped_loader, keyed_loader
from learntwin_graphql.services import progress as progress_service


class ProgressLoaders(LearningLoaders):
    def _for_student(self, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`fetch(ids, student, *rest)` once the caller may see `student` (else every key
        of the group fails with the refusal)."""

        async def checked(ids: list[Any], student: str, *rest: Any) -> Any:
            permissions.require_student(self._principal(), student)
            return await fetch(ids, student, *rest)

        return checked

    @cached_property
    def lesson_progress(self) -> Loader:
        """Keys (lesson id, student id): the stored progress row, None before any."""
        return grouped_loader(
            self._for_student(
                lambda ids, student: enrollments.progress(self._engine, student, ids)
            ),
            default=lambda _: None,
        )

    @cached_property
    def availability(self) -> Loader:
        """Keys (lesson id, student id): an ml.course_rules.AvailabilityResult."""

        async def fetch(ids: list[str], student: str) -> Any:
            found, _ = await progress_service.availability_of(self._engine, student, ids)
            return found

        return grouped_loader(self._for_student(fetch), default=lambda _: None)

    @cached_property
    def enrollment(self) -> Loader:
        """Keys (course id, student id): the student's enrolment, None without one."""

        async def fetch(ids: list[str], student: str) -> Any:
            return await enrollments.enrollments_of_student(self._engine, student, ids)

        return grouped_loader(self._for_student(fetch), default=lambda _: None)

    @cached_property
    def student_enrollments(self) -> Loader:
        """Keys (student id, status or None, after, limit): a page of enrolments."""
        return grouped_loader(
            self._student(
                lambda ids, status, after, limit: enrollments.enrollment_pages(
                    self._engine, "student_id", ids, status, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def course_enrollments(self) -> Loader:
        """Keys (course id, status or None, after, limit): a page of enrolments (staff)."""
        return grouped_loader(
            self._staff(
                lambda ids, status, after, limit: enrollments.enrollment_pages(
                    self._engine, "course_id", ids, status, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def enrollment_by_id(self) -> Loader:
        return keyed_loader(
            self._rows(
                lambda principal, row: permissions.require_student(principal, row["student_id"]),
                lambda ids: enrollments.enrollments_by_id(self._engine, ids),
            )
        )
