"""The PredictionModel type (shared by task results and the predictions API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry

from ml.scoring import METADATA


@strawberry.type(
    description="A trained score model: predicts a quiz score (0..100) from learning "
    "features, and a persona from features and score."
)
class PredictionModel:
    version: str = strawberry.field(
        description="The model's version; each prediction names the one that made it."
    )
    algorithm: str = strawberry.field(
        description="The regressor chosen at training, by its scikit-learn name."
    )
    trained_at: datetime = strawberry.field(description="When training finished (UTC).")
    training_rows: int = strawberry.field(description="Rows the model was trained on.")
    r2: float = strawberry.field(
        description="Coefficient of determination on held-out rows (1 is perfect; may be negative)."
    )
    mae: float = strawberry.field(
        description="Mean absolute error on held-out rows, in score points (0..100 scale)."
    )
    features: list[str] = strawberry.field(
        description="The input features, in the order the model reads them."
    )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PredictionModel:
        """From a stored model's row or a ScoreModel's metadata()."""
        return cls(**{**{name: row[name] for name in METADATA}, "features": list(row["features"])})
