"""REST routes compatible with the LearnTwin "Pipes & Persistence" API (ingest, mastery,
recommendations), so its existing clients keep working."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from learntwin_graphql.routes.credentials import caller, error
from learntwin_graphql.routes.export import class_id_of, parse_range
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import analytics, ingest
from learntwin_graphql.timeutil import format_datetime
from ml.metrics import MasteryStats


async def ingest_json(request: Request) -> Response:
    principal = await caller(request)
    runtime: Runtime = request.app.state.runtime
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return error(400, f"body is not valid JSON: {exc}")
    records = (
        payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else None
    )
    if records is None:
        return error(400, "body must be a record or a list of records")
    result, errors = await ingest.ingest(runtime, principal, records)
    return JSONResponse(
        {
            "rows_ok": result.accepted,
            "rows_skipped": len(errors) + result.duplicates,
            "duplicates": result.duplicates,
            "errors": [{"index": e.index, "field": e.field, "error": e.message} for e in errors],
        }
    )


async def _class_mastery(request: Request) -> MasteryStats | Response:
    principal = await caller(request)
    window = parse_range(request)
    if isinstance(window, Response):
        return window
    class_id = class_id_of(request)
    if isinstance(class_id, Response):
        return class_id
    return await analytics.class_mastery(request.app.state.runtime, principal, class_id, *window)


async def mastery(request: Request) -> Response:
    m = await _class_mastery(request)
    if isinstance(m, Response):
        return m
    body: dict[str, Any] = {
        "class_id": m.class_id,
        "population": m.population,
        "students": m.students,
        "rate_stuck": m.rate_stuck,
        "rate_got_it": m.rate_got_it,
        "rate_pause": m.rate_pause,
        "rate_example": m.rate_example,
        "avg_confidence": m.avg_confidence,
        "last_timestamp": format_datetime(m.last_timestamp) if m.last_timestamp else None,
    }
    return JSONResponse(body)


async def recommendations(request: Request) -> Response:
    m = await _class_mastery(request)
    if isinstance(m, Response):
        return m
    rules = analytics.recommendations(request.app.state.runtime, m)
    return JSONResponse(
        {
            "class_id": m.class_id,
            "recommendations": [
                {
                    "action": r.action.value,
                    "priority": r.priority.value,
                    "title": r.title,
                    "rationale": r.rationale,
                }
                for r in rules
            ],
        }
    )


routes = [
    Route("/ingest/json", ingest_json, methods=["POST"]),
    Route("/mastery/{class_id:path}", mastery, methods=["GET"]),
    Route("/recommend/{class_id:path}", recommendations, methods=["GET"]),
]
