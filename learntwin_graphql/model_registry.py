"""The active score model in this process, and the default model on first start.

Every process predicts with the version marked active in Postgres. A new active version
is announced on Redis; each process then loads it from Postgres (and checks again every
30 seconds, so a lost announcement only delays the switch)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from db import score_models
from learntwin_graphql.broker import Broker
from ml.scoring import ScoreModel, train
from workers.keys import MODEL_CHANNEL

log = logging.getLogger(__name__)
RESYNC_SECONDS = 30.0


async def ensure_default_model(engine: AsyncEngine) -> bool:
    """Train and activate a model when none is active; True when one was trained."""
    async with engine.begin() as conn:
        await score_models.lock_for_default(conn)
        if await score_models.has_active(conn):
            return False
        log.info("no score model yet: training the default one")
        model = await asyncio.to_thread(train)
        await score_models.store_and_activate(conn, score_models.model_row(model))
    log.info("default score model %s (%s, R² %.3f)", model.version, model.algorithm, model.r2)
    return True


class ModelRegistry:
    def __init__(self, engine: AsyncEngine, broker: Broker) -> None:
        self._engine = engine
        self._broker = broker
        self._task: asyncio.Task[None] | None = None
        self.model: ScoreModel | None = None

    async def refresh(self) -> ScoreModel | None:
        """Load the active version if it is not the one in hand."""
        meta = await score_models.active(self._engine, with_artifact=False)
        if meta is None:
            return self.model
        if self.model is None or self.model.version != meta["version"]:
            row = await score_models.active(self._engine)
            if row is not None:
                self.model = await asyncio.to_thread(score_models.model_from_row, row)
                log.info("score model %s loaded", self.model.version)
        return self.model

    async def current(self) -> ScoreModel | None:
        if self.model is None:
            await self.refresh()
        self.start()
        return self.model

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="score-model-follower")

    async def _follow(self) -> None:
        async with self._broker.watch(MODEL_CHANNEL) as watch:
            while True:
                await watch.wait(RESYNC_SECONDS)
                try:
                    await self.refresh()
                except Exception:  # a failed reload keeps the model in hand
                    log.warning("could not reload the score model", exc_info=True)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None
