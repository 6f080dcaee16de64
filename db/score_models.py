"""Stored score models: metadata plus the artifact; one version is active at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.tables import prediction_models
from ml.scoring import ScoreModel

Row = dict[str, Any]
_METADATA = [c for c in prediction_models.c if c.name != "artifact"]
# Processes starting together train the default model once.
_DEFAULT_MODEL_LOCK = 7_261_002


def model_row(model: ScoreModel, task_id: str | None = None) -> Row:
    return {
        **model.metadata(),
        "features": list(model.features),
        "artifact": model.to_bytes(),
        "task_id": task_id,
    }


def model_from_row(row: Row) -> ScoreModel:
    return ScoreModel.from_bytes(row["artifact"], row)


async def store_and_activate(conn: AsyncConnection, values: Row) -> str:
    """Store a model (once per task) and make it the active version; returns its version."""
    stored = (
        await conn.execute(
            pg_insert(prediction_models)
            .values(**values, active=False)
            .on_conflict_do_nothing()
            .returning(prediction_models.c.version)
        )
    ).scalar()
    if stored is None and values.get("task_id") is not None:
        # A retried training task: activate what its first try stored.
        stored = (
            await conn.execute(
                select(prediction_models.c.version).where(
                    prediction_models.c.task_id == values["task_id"]
                )
            )
        ).scalar_one_or_none()
    version = stored or values["version"]
    await conn.execute(
        update(prediction_models).where(prediction_models.c.active).values(active=False)
    )
    await conn.execute(
        update(prediction_models).where(prediction_models.c.version == version).values(active=True)
    )
    return version


async def active(engine: AsyncEngine, *, with_artifact: bool = True) -> Row | None:
    columns = list(prediction_models.c) if with_artifact else _METADATA
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(*columns).where(prediction_models.c.active)))
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def by_versions(engine: AsyncEngine, versions: Sequence[str]) -> dict[str, Row]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(*_METADATA).where(prediction_models.c.version.in_(list(versions)))
        )
        return {row["version"]: dict(row) for row in rows.mappings()}


async def lock_for_default(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _DEFAULT_MODEL_LOCK})


async def has_active(conn: AsyncConnection) -> bool:
    return bool(
        await conn.scalar(select(prediction_models.c.version).where(prediction_models.c.active))
    )
