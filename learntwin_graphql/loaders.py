"""Dataloaders, fresh for every request (aiodataloader binds the running loop).

Each batch function takes its own pooled connection, because batches run concurrently
and one connection must never be used by two tasks at once. Access is checked here,
where the data is loaded (rules from `permissions`), so no resolver can forget it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from functools import cached_property
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from db import (
    classes,
    identity,
    metric_reads,
    predictions,
    profiles,
    quizzes,
    score_models,
    tasks,
)
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import ApiError

K = TypeVar("K", bound=Hashable)


class Loader(DataLoader):
    """A DataLoader that also loads many keys at once, for batched fields: one call of
    the batch function for the keys not cached yet, no future per key on the way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Values loaded by load_all, by key (a completed future each only when asked),
        # and the keys of the batches in flight: (the batch, the key's place in it).
        self._loaded: dict[Any, Any] = {}
        self._inflight: dict[Any, tuple[asyncio.Future[Any], int]] = {}

    def load(self, key: Any) -> Any:
        if key in self._loaded:
            value = self._loaded[key]
            future = asyncio.get_running_loop().create_future()
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)
            return future
        return super().load(key)

    def clear(self, key: Any) -> Loader:
        self._loaded.pop(key, None)
        super().clear(key)
        return self

    def clear_all(self) -> Loader:
        self._loaded.clear()
        super().clear_all()
        return self

    async def load_all(self, keys: list[Any]) -> list[Any]:
        """The value, or the error, of every key, in order. Keys another call is loading
        at this moment are taken from its batch (one statement per key, however the
        batched fields of a request interleave)."""
        loaded, inflight = self._loaded, self._inflight
        theirs = {k: inflight[k] for k in keys if k not in loaded and k in inflight}
        cached = {
            k: self._cache[k]
            for k in keys
            if k not in loaded and k not in theirs and k in self._cache
        }
        missing = [
            k
            for k in dict.fromkeys(keys)
            if k not in loaded and k not in theirs and k not in cached
        ]
        if missing:
            batch = asyncio.ensure_future(self.batch_load_fn(missing))
            inflight.update((k, (batch, n)) for n, k in enumerate(missing))
            try:
                loaded.update(zip(missing, await batch, strict=True))
            finally:
                for k in missing:
                    inflight.pop(k, None)
        values = []
        for key in keys:
            try:
                if key in loaded:
                    values.append(loaded[key])
                elif key in theirs:
                    batch, position = theirs[key]
                    values.append((await batch)[position])
                else:
                    values.append(await cached[key])
            except Exception as error:
                values.append(error)
        return values


def keyed_loader(
    fetch: Callable[[list[K]], Awaitable[Mapping[K, Any]]], *, default: Any = None
) -> Loader:
    """A DataLoader over a query returning {key: value}; missing keys get `default`."""

    async def batch(keys: Iterable[K]) -> list[Any]:
        wanted = list(keys)
        found = await fetch(wanted)
        return [found.get(key, default) for key in wanted]

    return Loader(batch)


def grouped_loader(
    fetch: Callable[..., Awaitable[Mapping[str, Any]]], *, default: Callable[[str], Any]
) -> Loader:
    """A DataLoader over keys (id, *arguments): one query per distinct argument tuple,
    each covering all the ids that share it (e.g. every class's first page of students)."""

    async def batch(keys: Iterable[tuple[Any, ...]]) -> list[Any]:
        wanted = list(keys)
        groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for key in wanted:
            groups[key[1:]].append(key[0])
        results: dict[tuple[Any, ...], Any] = {}
        for arguments, ids in groups.items():
            found = await fetch(ids, *arguments)
            for owner in ids:
                results[(owner, *arguments)] = found.get(owner) or default(owner)
        return [results[key] for key in wanted]

    return Loader(batch)


Check = Callable[[Principal, Any], object]


class Loaders:
    """The request's DataLoaders, each built on first use: most requests need one or two.

    Every loader applies its rule from `permissions` to each key (or each row) before
    the caller sees anything: a key the caller may not see fails alone, with its error,
    while the others of the same batch load."""

    def __init__(self, engine: AsyncEngine, principal: Callable[[], Principal]) -> None:
        self._engine = engine
        self._principal = principal

    def _keys(self, check: Check, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`fetch` for the ids that pass `check(principal, id)`; the others get the error."""

        async def checked(ids: list[Any], *arguments: Any) -> Any:
            principal = self._principal()
            refused: dict[Any, Exception] = {}
            for key in ids:
                try:
                    check(principal, key)
                except ApiError as error:
                    refused[key] = error
            allowed = [key for key in ids if key not in refused]
            found = await fetch(allowed, *arguments) if allowed else {}
            return {**found, **refused}

        return checked

    def _rows(self, check: Check, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """`fetch`, then `check(principal, row)` on every row found."""

        async def checked(ids: list[Any]) -> Any:
            principal = self._principal()
            found = await fetch(ids)
            for key, row in list(found.items()):
                try:
                    check(principal, row)
                except ApiError as error:
                    found[key] = error
            return found

        return checked

    def _staff(self, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        return self._keys(lambda principal, _key: permissions.require_staff(principal), fetch)

    def _student(self, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        return self._keys(permissions.require_student, fetch)

    def _anyone(self, fetch: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        return self._keys(lambda p, _key: permissions.require_authenticated(p), fetch)

    @cached_property
    def user(self) -> Loader:
        return keyed_loader(
            self._keys(
                permissions.require_self, lambda ids: identity.users_by_id(self._engine, ids)
            )
        )

    @cached_property
    def class_exists(self) -> Loader:
        return keyed_loader(
            self._staff(lambda ids: _as_flags(classes.existing_classes(self._engine, ids))),
            default=False,
        )

    @cached_property
    def student_exists(self) -> Loader:
        return keyed_loader(
            self._student(lambda ids: _as_flags(classes.existing_students(self._engine, ids))),
            default=False,
        )

    @cached_property
    def student_count(self) -> Loader:
        return keyed_loader(
            self._staff(lambda ids: classes.student_counts(self._engine, ids)), default=0
        )

    @cached_property
    def class_students(self) -> Loader:
        return grouped_loader(
            self._staff(
                lambda ids, after, limit: classes.students_of_classes(
                    self._engine, ids, after, limit
                )
            ),
            default=lambda _: [],
        )

    @cached_property
    def student_classes(self) -> Loader:
        return keyed_loader(
            self._staff(lambda ids: classes.classes_of_students(self._engine, ids)), default=[]
        )

    @cached_property
    def class_metrics(self) -> Loader:
        return grouped_loader(
            self._staff(
                lambda ids, *args: metric_reads.metric_pages(self._engine, "class_id", ids, *args)
            ),
            default=lambda _: [],
        )

    @cached_property
    def student_metrics(self) -> Loader:
        return grouped_loader(
            self._student(
                lambda ids, *args: metric_reads.metric_pages(self._engine, "student_id", ids, *args)
            ),
            default=lambda _: [],
        )

    @cached_property
    def class_mastery(self) -> Loader:
        return grouped_loader(
            self._staff(
                lambda ids, *args: metric_reads.mastery(self._engine, "class_id", ids, *args)
            ),
            default=lambda owner: metric_reads.empty_mastery("class_id", owner),
        )

    @cached_property
    def student_mastery(self) -> Loader:
        return grouped_loader(
            self._student(
                lambda ids, *args: metric_reads.mastery(self._engine, "student_id", ids, *args)
            ),
            default=lambda owner: metric_reads.empty_mastery("student_id", owner),
        )

    @cached_property
    def quiz(self) -> Loader:
        # Questions never carry their answers: any signed-in caller may read a quiz.
        return keyed_loader(self._anyone(lambda ids: quizzes.quizzes_by_id(self._engine, ids)))

    @cached_property
    def quiz_questions(self) -> Loader:
        return keyed_loader(
            self._anyone(lambda ids: quizzes.questions_of(self._engine, ids)), default=[]
        )

    @cached_property
    def task(self) -> Loader:
        return keyed_loader(
            self._rows(permissions.require_task_owner, lambda ids: tasks.by_ids(self._engine, ids))
        )

    @cached_property
    def profile(self) -> Loader:
        return keyed_loader(
            self._rows(
                lambda principal, row: permissions.require_student(principal, row["student_id"]),
                lambda ids: profiles.profiles_by_id(self._engine, ids),
            )
        )

    @cached_property
    def latest_profile(self) -> Loader:
        return keyed_loader(self._student(lambda ids: profiles.latest_profiles(self._engine, ids)))

    @cached_property
    def student_attempts(self) -> Loader:
        return grouped_loader(
            self._student(
                lambda ids, limit: quizzes.attempts_of_students(self._engine, ids, limit)
            ),
            default=lambda _: [],
        )

    @cached_property
    def score_model(self) -> Loader:
        return keyed_loader(
            self._anyone(lambda versions: score_models.by_versions(self._engine, versions))
        )

    @cached_property
    def student_predictions(self) -> Loader:
        return grouped_loader(
            self._student(lambda ids, limit: predictions.of_students(self._engine, ids, limit)),
            default=lambda _: [],
        )


async def _as_flags(found: Awaitable[set[str]]) -> dict[str, bool]:
    return dict.fromkeys(await found, True)
