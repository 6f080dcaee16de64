"""The REST sidecar: liveness and readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.engine import ping as ping_postgres
from learntwin_graphql import permissions
from learntwin_graphql.routes.credentials import caller
from learntwin_graphql.runtime import Runtime
from workers.heartbeat import live_workers

log = logging.getLogger("learntwin.rest")
CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check(name: str, probe: Awaitable[object]) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT)
        return name, None
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        return name, f"{type(exc).__name__}: {exc}".strip()[:200]


async def _may_see_errors(request: Request) -> bool:
    """Error text names hosts, sockets, paths and versions: only ADMIN and INSTRUCTOR
    callers see it. Credentials that cannot be checked (wrong, throttled, or a stored key
    while the database that holds it is down) hide it too; a probe never gets a 401."""
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        return False
    try:
        principal = await asyncio.wait_for(caller(request), CHECK_TIMEOUT)
    except Exception:
        return False
    return permissions.is_staff(principal)


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    results = await asyncio.gather(
        _check("postgres", ping_postgres(runtime.engine)),
        _check("redis", runtime.redis.ping()),
    )
    checks = {name: ("ok" if error is None else "down") for name, error in results}
    errors = {name: error for name, error in results if error is not None}
    body: dict[str, object] = {"status": "ready" if not errors else "degraded", "checks": checks}
    if errors:
        log.debug("not ready: %s", errors)
        if await _may_see_errors(request):
            body["errors"] = errors
        body["down"] = sorted(errors)
    else:
        try:
            body["workers"] = await asyncio.wait_for(live_workers(runtime.redis), CHECK_TIMEOUT)
        except Exception:
            body["workers"] = None
    return JSONResponse(body, status_code=200 if not errors else 503)


routes = [Route("/healthz", healthz), Route("/readyz", readyz)]
