"""The score model's pure parts: data, selection, personas, serialisation, cache keys."""

from __future__ import annotations

import numpy as np
import pytest

from ml.scoring import (
    FEATURES,
    PERSONAS,
    ScoreModel,
    cache_key,
    candidates,
    name_personas,
    synthetic_students,
)


def test_synthetic_data_follows_the_documented_process():
    features, score = synthetic_students(1_000, seed=7)
    again, again_score = synthetic_students(1_000, seed=7)
    assert np.array_equal(features, again) and np.array_equal(score, again_score)
    assert features.shape == (1_000, 5)
    assert features[:, :4].min() >= 30 and features[:, :4].max() <= 100
    engagement = features[:, 4]
    assert (
        engagement.min() >= 20
        and engagement.max() <= 180
        and np.all(engagement == engagement.round())
    )
    assert score.min() >= 40 and score.max() <= 100
    assert 65 < score.mean() < 75
    assert not np.array_equal(features, synthetic_students(1_000, seed=8)[0])


def test_training_keeps_the_best_candidate_and_reports_held_out_figures(trained_model):
    assert trained_model.algorithm in candidates()
    assert trained_model.training_rows == 1_000
    assert trained_model.features == FEATURES
    # The score is a noisy linear mix of the features: a good model explains most of it.
    assert 0.6 < trained_model.r2 <= 1.0
    assert 0 < trained_model.mae < 8
    assert set(trained_model.persona_names) == set(PERSONAS)


def test_predictions_are_bounded_and_follow_the_features(trained_model):
    rows = np.array(
        [[95, 95, 95, 95, 170], [70, 70, 70, 70, 70], [35, 32, 31, 33, 25]], dtype=float
    )
    scores, personas = trained_model.predict(rows)
    assert np.all((0 <= scores) & (scores <= 100))
    assert scores[0] > scores[1] > scores[2]
    assert personas[0] == "Highly Engaged High Performer"
    assert personas[2] in ("Low Engagement Risk", "Developing Performer")


def test_artifact_round_trip_predicts_the_same(trained_model):
    restored = ScoreModel.from_bytes(trained_model.to_bytes(), trained_model.metadata())
    rows = synthetic_students(50, seed=3)[0]
    assert np.allclose(restored.predict(rows)[0], trained_model.predict(rows)[0])
    assert restored.predict(rows)[1] == trained_model.predict(rows)[1]


def test_personas_are_named_by_their_centroids_not_their_index():
    # columns: comprehension, attention, focus, retention, engagement_time, score
    strong = [90, 90, 90, 90, 160, 92]
    disengaged = [60, 55, 55, 60, 40, 62]
    developing = [55, 62, 60, 55, 95, 58]
    steady = [72, 72, 72, 72, 100, 73]
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        centroids = np.array(
            [[strong, disengaged, developing, steady][i] for i in order], dtype=float
        )
        names = name_personas(centroids)
        expected = [
            "Highly Engaged High Performer",
            "Low Engagement Risk",
            "Developing Performer",
            "Consistent Learner",
        ]
        assert names == [expected[i] for i in order]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ((72, 80, 75, 70, 120), (72.00001, 80, 75, 70, 120.0), True),
        ((72, 80, 75, 70, 120), (72.1, 80, 75, 70, 120), False),
        ((0.0, 80, 75, 70, 120), (-0.0, 80, 75, 70, 120), True),
        ((72, 80, 75, 70, 120), (72, 80, 75, 120, 70), False),
    ],
)
def test_cache_keys_follow_the_normalized_features_and_the_version(a, b, same):
    assert (cache_key("v1", a) == cache_key("v1", b)) is same
    assert cache_key("v1", a) != cache_key("v2", a)
