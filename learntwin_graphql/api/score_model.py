"""The PredictionModel type (shared by task results and the predictions API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry

from ml.scoring import METADATA


@strawberry.type
class PredictionModel:
    version: str
    algorithm: str
    trained_at: datetime
    training_rows: int
    r2: float
    mae: float
    features: list[str]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PredictionModel:
        """From a stored model's row or a ScoreModel's metadata()."""
        return cls(**{**{name: row[name] for name in METADATA}, "features": list(row["features"])})
