"""The Starlette application: GraphQL at /graphql, the REST sidecar beside it."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from db.migrate import require_current
from learntwin_graphql.config import DEV_API_KEY, Settings
from learntwin_graphql.demo import load_demo
from learntwin_graphql.demo_courses import load_demo_courses
from learntwin_graphql.errors import ApiError
from learntwin_graphql.middleware import Admission, BodySizeLimit, RequestIdMiddleware
from learntwin_graphql.model_registry import ensure_default_model
from learntwin_graphql.routes import compat, export, health
from learntwin_graphql.routes.credentials import api_error_response
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.schema import build_schema
from learntwin_graphql.view import GraphQLView

log = logging.getLogger("learntwin")


async def _json_http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answer JSON too, like every other REST error."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


def _announce(runtime: Runtime) -> None:
    settings = runtime.settings
    where = "embedded" if runtime.embedded else "configured"
    log.info("Postgres and Redis: %s; worker in process: %s", where, runtime.has_worker)
    if settings.api_key is None and not settings.production:
        log.warning("API_KEY is not set: the development admin key is %r", DEV_API_KEY)


class _LazyGraphQL:
    """Routes to the view once the lifespan has built the runtime."""

    def __init__(self) -> None:
        self.view: GraphQLView | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.view is not None, "the application's lifespan has not started"
        await self.view(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    worker: bool = False,
    demo: bool = False,
) -> Starlette:
    """The ASGI app. With `runtime` the caller owns connections; otherwise the lifespan
    starts them from `settings` (embedded servers when nothing is configured)."""
    settings = runtime.settings if runtime is not None else (settings or Settings())
    graphql = _LazyGraphQL()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or await Runtime.start(settings, worker=worker)
        app.state.runtime = rt
        try:
            if owned:
                await require_current(rt.engine)
                # A default score model exists once the server is up (trained on first start).
                await ensure_default_model(rt.engine)
            if demo:
                stored = await load_demo(rt.engine)
                log.info(
                    "demo data: %s",
                    f"{stored} records loaded" if stored else "database not empty, skipped",
                )
                activities = await load_demo_courses(rt)
                log.info(
                    "demo courses: %s",
                    f"{activities} lesson activities"
                    if activities
                    else "catalogue not empty, skipped",
                )
            if owned:
                _announce(rt)
            graphql.view = app.state.graphql = GraphQLView(build_schema(settings), rt)
            # Everything built so far lives as long as the process: keep it out of the
            # cyclic GC, whose full collections otherwise rescan it on busy ingests.
            gc.collect()
            gc.freeze()
            yield
        finally:
            if owned:
                await rt.close()

    app = Starlette(
        routes=[
            # Every method reaches the view, which refuses those other than GET and POST
            # with a GraphQL error body (and `Allow`), like every other GraphQL refusal.
            Route("/graphql", graphql, methods=None),
            WebSocketRoute("/graphql", graphql),
            *health.routes,
            *export.routes,
            *compat.routes,
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(Admission, limit=settings.max_concurrent_requests),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Content-Disposition"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _json_http_error, ApiError: api_error_response},
    )
    if runtime is not None:
        # Without a lifespan run (e.g. an ASGI test transport) the app is ready at once.
        app.state.runtime = runtime
        graphql.view = app.state.graphql = GraphQLView(build_schema(settings), runtime)
    return app
