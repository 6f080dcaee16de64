"""Score predictions through GraphQL: validation, cache, storage, access, new versions."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import numpy as np

from db import score_models
from learntwin_graphql import prediction_cache
from learntwin_graphql.app import create_app
from learntwin_graphql.runtime import Runtime
from tests.conftest import (
    GraphQLClient,
    Jobs,
    clean,
    error_codes,
    free_port,
    make_settings,
)
from workers.events import publish
from workers.keys import MODEL_CHANNEL, PREDICTION_INDEX

PREDICT = """
mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) {
  totalProcessed cacheHits processingTimeMs
  predictions { studentId predictedScore persona modelVersion cached createdAt } } }
"""
MODEL = "{ predictionModel { version algorithm trainedAt trainingRows r2 mae features } }"
STATS = "{ cacheStats { hits misses hitRate keys } }"


def student(i: int = 0, **extra):
    return {
        "comprehension": 50 + i % 50,
        "attention": 60 + i % 40,
        "focus": 55 + i % 45,
        "retention": 65 + i % 35,
        "engagementTime": 30 + i,
        **extra,
    }


async def test_prediction_model_is_the_active_version(gql, score_model):
    model = (await gql(MODEL))["data"]["predictionModel"]
    assert model["version"] == score_model.version and model["algorithm"] == score_model.algorithm
    assert model["trainingRows"] == 1_000 and model["features"] == list(score_model.features)
    assert model["r2"] == score_model.r2 and model["mae"] == score_model.mae
    assert error_codes(await gql(MODEL, api_key=None)) == ["UNAUTHENTICATED"]


async def test_batch_predictions_are_cached_by_version_and_features(gql, score_model):
    batch = [student(i) for i in range(100)]
    first = (await gql(PREDICT, {"s": batch}))["data"]["predictScores"]
    assert (
        first["totalProcessed"] == 100 and first["cacheHits"] == 0 and first["processingTimeMs"] > 0
    )
    assert all(
        not p["cached"] and p["modelVersion"] == score_model.version for p in first["predictions"]
    )
    assert all(0 <= p["predictedScore"] <= 100 and p["persona"] for p in first["predictions"])
    again = (await gql(PREDICT, {"s": [*batch[:60], student(250)]}))["data"]["predictScores"]
    assert again["cacheHits"] == 60
    assert [p["cached"] for p in again["predictions"]] == [True] * 60 + [False]
    assert [p["predictedScore"] for p in again["predictions"][:60]] == [
        p["predictedScore"] for p in first["predictions"][:60]
    ]
    stats = (await gql(STATS))["data"]["cacheStats"]
    assert (stats["hits"], stats["misses"], stats["keys"]) == (60, 101, 101)
    assert abs(stats["hitRate"] - 60 / 161) < 1e-9
    assert (await gql("mutation { clearPredictionCache }"))["data"]["clearPredictionCache"] == 101
    stats = (await gql(STATS))["data"]["cacheStats"]
    assert (stats["hits"], stats["misses"], stats["keys"]) == (0, 0, 0)


async def test_repeated_features_in_one_batch_share_a_cache_entry(gql, score_model):
    await gql("mutation { clearPredictionCache }")
    batch = [student(7), student(8), student(7), student(7, comprehension=57.00001)]
    first = (await gql(PREDICT, {"s": batch}))["data"]["predictScores"]
    assert first["cacheHits"] == 0 and not any(p["cached"] for p in first["predictions"])
    scores = [p["predictedScore"] for p in first["predictions"]]
    assert scores[0] == scores[2] == scores[3] != scores[1]
    assert (await gql(STATS))["data"]["cacheStats"]["keys"] == 2
    again = (await gql(PREDICT, {"s": batch}))["data"]["predictScores"]
    assert again["cacheHits"] == 4
    assert [p["predictedScore"] for p in again["predictions"]] == scores


async def test_the_cache_works_on_a_redis_that_lost_its_scripts(gql, runtime, score_model):
    batch = [student(i) for i in range(3)]
    await gql(PREDICT, {"s": batch})
    await runtime.redis.script_flush()  # as after a Redis restart
    again = (await gql(PREDICT, {"s": batch}))["data"]["predictScores"]
    assert again["cacheHits"] == 3 and all(p["cached"] for p in again["predictions"])


def feature_rows(first: int, count: int) -> np.ndarray:
    return np.array([[50 + i, 60, 55, 65, 30] for i in range(first, first + count)], float)


async def test_cached_entries_leave_the_count_when_they_expire(runtime, trained_model):
    """The count follows Redis's expiry with no scan: expired entries are trimmed from the
    index when the statistics are read."""
    redis = runtime.redis
    await prediction_cache.predict_batch(redis, trained_model, feature_rows(0, 3), 1)
    await prediction_cache.predict_batch(redis, trained_model, feature_rows(3, 2), 60)
    assert (await prediction_cache.cache_stats(redis)).keys == 5
    await asyncio.sleep(1.2)
    stats = await prediction_cache.cache_stats(redis)
    assert (stats.hits, stats.misses, stats.keys) == (0, 5, 2)
    assert await redis.zcard(PREDICTION_INDEX) == 2
    # Only the live entries count as removed, and nothing of the cache is left behind.
    assert await prediction_cache.clear_cache(redis) == 2
    assert not await redis.exists(PREDICTION_INDEX)
    assert (await prediction_cache.cache_stats(redis)).keys == 0


async def test_the_count_holds_each_entry_once_across_writers_and_versions(runtime, trained_model):
    redis = runtime.redis
    rows = feature_rows(0, 4)
    # Two batches missing the same entries at once both store them: still one entry each.
    await asyncio.gather(
        *(prediction_cache.predict_batch(redis, trained_model, rows, 60) for _ in range(2))
    )
    assert (await prediction_cache.cache_stats(redis)).keys == 4
    newer = dataclasses.replace(trained_model, version=trained_model.version + "-next")
    await prediction_cache.predict_batch(redis, newer, rows, 60)
    assert (await prediction_cache.cache_stats(redis)).keys == 8
    assert await prediction_cache.clear_cache(redis) == 8
    again = await prediction_cache.predict_batch(redis, newer, rows, 60)
    assert again.cache_hits == 0


async def test_batch_size_and_feature_validation(gql, score_model):
    assert error_codes(await gql(PREDICT, {"s": []})) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(PREDICT, {"s": [student(i) for i in range(101)]})) == [
        "BAD_USER_INPUT"
    ]
    body = await gql(
        PREDICT, {"s": [student(0), student(1, attention=101), student(2, engagementTime=-1)]}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "students.1.attention"
    assert [(p["index"], p["field"]) for p in error["extensions"]["invalid"]] == [
        (1, "attention"),
        (2, "engagementTime"),
    ]
    assert (await gql(PREDICT, {"s": [student(0, engagementTime=300)]}))["data"]["predictScores"][
        "totalProcessed"
    ] == 1


async def test_predictions_with_a_student_are_stored_newest_first(gql, score_model):
    await gql(PREDICT, {"s": [student(1, studentId="s-1"), student(2)]})
    await asyncio.sleep(0.01)
    await gql(PREDICT, {"s": [student(3, studentId="s-1")]})
    body = await gql(
        '{ student(id: "s-1") { predictions(first: 5) { predictedScore cached modelVersion createdAt } } }'
    )
    stored = body["data"]["student"]["predictions"]
    assert len(stored) == 2 and stored[0]["createdAt"] > stored[1]["createdAt"]


async def test_learners_predict_only_for_themselves(gql, score_model):
    reg = await gql(
        'mutation { register(input: {email: "p@example.org", password: "0123456789", studentId: "s-p"}) { token } }'
    )
    token = reg["data"]["register"]["token"]
    own = await gql(PREDICT, {"s": [student(1, studentId="s-p")]}, token=token)
    assert own["data"]["predictScores"]["predictions"][0]["studentId"] == "s-p"
    assert error_codes(await gql(PREDICT, {"s": [student(1, studentId="s-x")]}, token=token)) == [
        "FORBIDDEN"
    ]
    assert error_codes(await gql(PREDICT, {"s": [student(1)]}, token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql(STATS, token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql("mutation { clearPredictionCache }", token=token)) == ["FORBIDDEN"]
    assert error_codes(await gql("mutation { trainPredictionModel { id } }", token=token)) == [
        "FORBIDDEN"
    ]


async def test_a_new_active_version_reaches_the_process(gql, runtime, score_model):
    assert (await gql(MODEL))["data"]["predictionModel"]["version"] == score_model.version
    await gql(PREDICT, {"s": [student(1)]})  # the registry now follows announcements
    newer = dataclasses.replace(score_model, version=score_model.version + "-next")
    async with runtime.engine.begin() as conn:
        await score_models.store_and_activate(conn, score_models.model_row(newer))
    await publish(runtime.redis, [MODEL_CHANNEL])
    for _ in range(100):
        if (await gql(MODEL))["data"]["predictionModel"]["version"] == newer.version:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the new version never reached the process")
    # Cached answers of the old version are not served for the new one.
    body = (await gql(PREDICT, {"s": [student(1)]}))["data"]["predictScores"]
    assert body["cacheHits"] == 0 and body["predictions"][0]["modelVersion"] == newer.version


async def test_training_runs_as_a_task_and_activates_the_new_model(gql, jobs: Jobs, score_model):
    body = await gql("mutation { trainPredictionModel { id kind status } }")
    task = body["data"]["trainPredictionModel"]
    assert task["kind"] == "MODEL_TRAINING" and task["status"] == "QUEUED"
    done = await jobs.finish(gql, task["id"])
    assert done["status"] == "SUCCEEDED"
    result = await gql(
        "query($id: ID!) { task(id: $id) { result { ... on PredictionModel { version algorithm r2 } } } }",
        {"id": task["id"]},
    )
    version = result["data"]["task"]["result"]["version"]
    for _ in range(100):
        if (await gql(MODEL))["data"]["predictionModel"]["version"] == version:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the trained version never became active here")


async def test_predictions_without_redis_are_served_uncached(services, trained_model):
    await clean(services)
    settings = make_settings(services, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    async with await Runtime.start(settings, run_migrations=False) as runtime:
        async with runtime.engine.begin() as conn:
            await score_models.store_and_activate(conn, score_models.model_row(trained_model))
        transport = httpx.ASGITransport(create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            gql = GraphQLClient(http)
            for _ in range(2):
                body = (await gql(PREDICT, {"s": [student(1), student(2)]}))["data"][
                    "predictScores"
                ]
                assert body["cacheHits"] == 0 and not any(p["cached"] for p in body["predictions"])
