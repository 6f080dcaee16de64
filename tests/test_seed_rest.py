"""The LearnTwin seed's REST routes keep their shapes."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_KEY

SEED = {
    "class_id": "c1",
    "student_id": 42,
    "stuck": 0,
    "got_it": 1,
    "pause": 0,
    "example": 1,
    "confidence": 8,
}


async def test_ingest_json_in_the_seed_shape(client):
    records = [
        SEED,
        {
            **SEED,
            "student_id": "s-2",
            "stuck": True,
            "got_it": False,
            "confidence": 3,
            "timestamp": "2026-01-05T10:00:00Z",
        },
        {**SEED, "confidence": 42},
        {**SEED, "event_id": "ev-1"},
        {**SEED, "event_id": "ev-1"},
    ]
    response = await client.post("/ingest/json", json=records, headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 200
    body = response.json()
    assert body["rows_ok"] == 3 and body["rows_skipped"] == 2 and body["duplicates"] == 1
    assert body["errors"] == [
        {"index": 2, "field": "confidence", "error": "confidence must be between 1 and 10"}
    ]


async def test_mastery_and_recommend_in_the_seed_shape(client):
    records = [{**SEED, "stuck": 1, "confidence": 3}, {**SEED, "student_id": 7, "example": 0}]
    await client.post("/ingest/json", json=records, headers={"X-API-Key": ADMIN_KEY})
    mastery = (await client.get("/mastery/c1", headers={"X-API-Key": ADMIN_KEY})).json()
    assert mastery["class_id"] == "c1" and mastery["population"] == 2
    assert mastery["rate_stuck"] == 0.5 and mastery["rate_example"] == 0.5
    assert mastery["avg_confidence"] == 5.5 and mastery["last_timestamp"].endswith("Z")
    recommend = (await client.get("/recommend/c1", headers={"X-API-Key": ADMIN_KEY})).json()
    assert recommend["class_id"] == "c1"
    assert recommend["recommendations"][0]["action"] == "RECAP"
    assert recommend["recommendations"][0]["priority"] == "HIGH"
    assert set(recommend["recommendations"][0]) == {"action", "priority", "title", "rationale"}
    ranged = (
        await client.get(
            "/mastery/c1", params={"from": "2099-01-01T00:00:00Z"}, headers={"X-API-Key": ADMIN_KEY}
        )
    ).json()
    assert ranged["population"] == 0 and ranged["rate_stuck"] is None


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/ingest/json"), ("GET", "/mastery/c1"), ("GET", "/recommend/c1")]
)
async def test_seed_routes_need_a_key(client, method, path):
    response = await client.request(method, path, json=[SEED] if method == "POST" else None)
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_ingest_json_rejects_bad_bodies(client):
    headers = {"X-API-Key": ADMIN_KEY}
    bad = await client.post("/ingest/json", content=b"{not json", headers=headers)
    assert bad.status_code == 400
    assert (await client.post("/ingest/json", json="text", headers=headers)).status_code == 400
    too_many = await client.post("/ingest/json", json=[SEED] * 10_001, headers=headers)
    assert too_many.status_code == 413
    assert (await client.get("/mastery/c1", headers=headers)).json()["population"] == 0
