"""The PredictionModel type (shared by task results and the predictions API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry


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
    def from_row(cls, row: dict[str, Any]) -> PredictionModel:
        return cls(
            version=row["version"],
            algorithm=row["algorithm"],
            trained_at=row["trained_at"],
            training_rows=row["training_rows"],
            r2=row["r2"],
            mae=row["mae"],
            features=list(row["features"]),
        )
