"""Credentials on REST routes: the same keys and tokens as GraphQL, answered in JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from learntwin_graphql.auth import (
    AuthError,
    Principal,
    TooManyAttempts,
    authenticate,
    client_address,
)
from learntwin_graphql.runtime import Runtime


def error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


async def staff_or_error(request: Request) -> Principal | JSONResponse:
    """The caller when ADMIN or INSTRUCTOR; otherwise the 401/403 response to send."""
    runtime: Runtime = request.app.state.runtime
    try:
        principal = await authenticate(
            api_key=request.headers.get("x-api-key"),
            authorization=request.headers.get("authorization"),
            settings=runtime.settings,
            engine=runtime.reads,
            limiter=runtime.limiter,
            client=client_address(request),
        )
    except AuthError as exc:
        return error(401, f"invalid credentials: {exc}")
    except TooManyAttempts as exc:
        response = error(429, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not principal.authenticated:
        return error(401, "missing credentials: send X-API-Key or Authorization: Bearer")
    if not principal.is_staff:
        return error(403, "this needs the ADMIN or INSTRUCTOR role")
    return principal
