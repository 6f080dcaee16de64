"""The score model: training data, model selection, personas and prediction, free of I/O.

Training follows the Student Performance Dashboard's documented synthetic process, seeded
for reproducibility; the pipeline that wins 5-fold cross-validation is kept and reported
on a held-out 20% split. Personas come from KMeans with 4 clusters, named by what their
centroids look like, never by cluster index.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ("comprehension", "attention", "focus", "retention", "engagement_time")
PERSONAS = (
    "Highly Engaged High Performer",
    "Consistent Learner",
    "Developing Performer",
    "Low Engagement Risk",
)
TRAINING_ROWS = 1_000
DEFAULT_SEED = 42

Progress = Callable[[str], None]


def synthetic_students(
    rows: int = TRAINING_ROWS, seed: int = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Features (rows x 5, in FEATURES order) and scores, as the seed documents them."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(70, 10, rows)

    def skill() -> np.ndarray:
        return np.clip(rng.normal(latent, 8), 30, 100)

    comprehension, attention, focus, retention = skill(), skill(), skill(), skill()
    engagement = np.clip(0.5 * attention + 0.5 * focus + rng.normal(0, 10, rows), 20, 180).astype(
        int
    )
    score = np.clip(
        0.3 * comprehension
        + 0.25 * attention
        + 0.25 * focus
        + 0.2 * retention
        + rng.normal(0, 5, rows),
        40,
        100,
    )
    features = np.column_stack([comprehension, attention, focus, retention, engagement]).astype(
        float
    )
    return features, score


def candidates(seed: int = DEFAULT_SEED) -> dict[str, Pipeline]:
    return {
        "LinearRegression": Pipeline([("scale", StandardScaler()), ("model", LinearRegression())]),
        "Ridge": Pipeline([("scale", StandardScaler()), ("model", Ridge(alpha=1.0))]),
        "HistGradientBoostingRegressor": Pipeline(
            [
                ("scale", StandardScaler()),
                ("model", HistGradientBoostingRegressor(random_state=seed)),
            ]
        ),
    }


def name_personas(centroids: np.ndarray) -> list[str]:
    """A persona name per cluster from its centroid (columns: FEATURES then score).

    The strongest overall profile is the high performer; of the rest, the least engaged
    is the engagement risk; of the rest, the lower scorer is developing; the last one is
    consistent. Each name is used exactly once."""
    engagement = centroids[:, FEATURES.index("engagement_time")]
    score = centroids[:, len(FEATURES)]
    left = list(range(len(centroids)))
    names: dict[int, str] = {}

    def take(index: int, name: str) -> None:
        names[index] = name
        left.remove(index)

    # z-scores, so minutes of engagement and points of score weigh alike
    def z(values: np.ndarray) -> np.ndarray:
        spread = values.std() or 1.0
        return (values - values.mean()) / spread

    overall = z(score) + z(engagement)
    take(max(left, key=lambda i: overall[i]), "Highly Engaged High Performer")
    take(min(left, key=lambda i: engagement[i]), "Low Engagement Risk")
    take(min(left, key=lambda i: score[i]), "Developing Performer")
    take(left[0], "Consistent Learner")
    return [names[i] for i in range(len(centroids))]


METADATA = ("version", "algorithm", "trained_at", "training_rows", "r2", "mae", "features")


@dataclass
class ScoreModel:
    version: str
    algorithm: str
    trained_at: datetime
    training_rows: int
    r2: float
    mae: float
    features: tuple[str, ...]
    pipeline: Pipeline
    personas: Pipeline  # scaler + KMeans over features and score
    persona_names: tuple[str, ...]

    def metadata(self) -> dict[str, object]:
        """What describes the model besides its artifact (stored beside it, served as is)."""
        return {name: getattr(self, name) for name in METADATA}

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Scores clipped to 0..100 and a persona per row (rows x 5, FEATURES order)."""
        scores = np.clip(self.pipeline.predict(rows), 0, 100)
        clusters = self.personas.predict(np.column_stack([rows, scores]))
        return scores, [self.persona_names[c] for c in clusters]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(
            {"pipeline": self.pipeline, "personas": self.personas, "names": self.persona_names},
            buffer,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, artifact: bytes, metadata: Mapping[str, Any]) -> ScoreModel:
        """The model from its artifact and a mapping holding (at least) METADATA."""
        # Only artifacts this code stored in our own database are ever unpickled.
        parts = pickle.loads(artifact)
        described = {name: metadata[name] for name in METADATA}
        described["features"] = tuple(described["features"])
        return cls(
            pipeline=parts["pipeline"],
            personas=parts["personas"],
            persona_names=tuple(parts["names"]),
            **described,
        )


def train(
    rows: int = TRAINING_ROWS, seed: int = DEFAULT_SEED, progress: Progress | None = None
) -> ScoreModel:
    """Train, select and report a model; CPU-bound (about a second), run it off the loop."""
    say = progress or (lambda _: None)
    say("generating training data")
    features, score = synthetic_students(rows, seed)
    train_x, test_x, train_y, test_y = train_test_split(
        features, score, test_size=0.2, random_state=seed
    )
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)
    results: dict[str, float] = {}
    pipelines = candidates(seed)
    for name, pipeline in pipelines.items():
        say(f"cross-validating {name}")
        results[name] = float(
            cross_val_score(pipeline, train_x, train_y, cv=folds, scoring="r2").mean()
        )
    best = max(results, key=lambda n: results[n])
    say(f"fitting {best}")
    pipeline = pipelines[best].fit(train_x, train_y)
    predicted = pipeline.predict(test_x)
    say("clustering personas")
    personas = Pipeline(
        [
            ("scale", StandardScaler()),
            ("kmeans", KMeans(n_clusters=4, n_init=10, random_state=seed)),
        ]
    ).fit(np.column_stack([features, score]))
    centroids = personas.named_steps["scale"].inverse_transform(
        personas.named_steps["kmeans"].cluster_centers_
    )
    trained_at = datetime.now(UTC)
    model = ScoreModel(
        version="",
        algorithm=best,
        trained_at=trained_at,
        training_rows=rows,
        r2=float(r2_score(test_y, predicted)),
        mae=float(mean_absolute_error(test_y, predicted)),
        features=FEATURES,
        pipeline=pipeline,
        personas=personas,
        persona_names=tuple(name_personas(centroids)),
    )
    # When it was trained (to the microsecond) and what it is: unique, and equal
    # artifacts trained with the same seed still show they are the same model.
    model.version = (
        f"{trained_at:%Y%m%d%H%M%S.%f}-{hashlib.sha256(model.to_bytes()).hexdigest()[:8]}"
    )
    return model


def normalized_features(rows: np.ndarray) -> np.ndarray:
    """Rounded the way cache keys see them, so 72.0000001 and 72 share a prediction
    (and -0.0 is 0.0)."""
    return np.round(np.asarray(rows, dtype=np.float64), 4) + 0.0


def cache_keys(prefix: str, rows: np.ndarray) -> list[str]:
    """One key per row (rows x 5): `prefix` and a hash of the normalized features.

    The prefix is the caller's: it names the model version, so that a new version never
    reads an older one's answers, and whatever store the cache lives in (this module
    knows none)."""
    blake2b = hashlib.blake2b
    return [
        prefix + blake2b(row.tobytes(), digest_size=16).hexdigest()
        for row in np.ascontiguousarray(normalized_features(rows), dtype="<f8")
    ]


def cache_key(prefix: str, values: Sequence[float]) -> str:
    return cache_keys(prefix, np.asarray([values], dtype=np.float64))[0]
