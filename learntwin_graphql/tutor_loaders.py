"""The request's DataLoaders for the tutor's sessions and messages, on top of the plan
loaders; every row is checked with `permissions.require_student` against its learner."""

from __future__ import annotations

from functools import cached_property

from db import tutor
from learntwin_graphql.loaders import Loader, grouped_loader, keyed_loader
from learntwin_graphql.plan_loaders import PlanLoaders, owned


class TutorLoaders(PlanLoaders):
    @cached_property
    def chat_session(self) -> Loader:
        return keyed_loader(self._rows(owned, lambda ids: tutor.sessions_by_id(self._engine, ids)))

    @cached_property
    def chat_message(self) -> Loader:
        return keyed_loader(self._rows(owned, lambda ids: tutor.messages_by_id(self._engine, ids)))

    @cached_property
    def student_sessions(self) -> Loader:
        """Keys (student, status or None, after, limit): sessions newest first."""
        return grouped_loader(
            self._student(
                lambda ids, status, after, limit: tutor.session_pages(
                    self._engine, ids, status, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def session_messages(self) -> Loader:
        """Keys (session, after, before, limit, newest first): a page of messages."""
        return grouped_loader(
            self._owned_lists(
                lambda ids, after, before, limit, backwards: tutor.message_pages(
                    self._engine, ids, after, before, limit, backwards
                )
            ),
            default=lambda _: [],
        )
