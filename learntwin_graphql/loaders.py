"""Dataloaders, built fresh for every request (aiodataloader binds the running loop).

Each batch function takes its own pooled connection, because batches run concurrently
and one connection must never be used by two tasks at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncEngine

from db import identity

K = TypeVar("K", bound=Hashable)


def keyed_loader(
    fetch: Callable[[list[K]], Awaitable[Mapping[K, Any]]], *, default: Any = None
) -> DataLoader:
    """A DataLoader over a query returning {key: value}; missing keys get `default`."""

    async def batch(keys: Iterable[K]) -> list[Any]:
        wanted = list(keys)
        found = await fetch(wanted)
        return [found.get(key, default) for key in wanted]

    return DataLoader(batch)


class Loaders:
    def __init__(self, engine: AsyncEngine) -> None:
        self.user = keyed_loader(lambda ids: identity.users_by_id(engine, ids))
