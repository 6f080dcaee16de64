"""Credentials and refusals on REST routes: the same keys and tokens as GraphQL, and
every ApiError a service raises answered in JSON with the status of its code."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from learntwin_graphql.auth import (
    AuthError,
    Principal,
    TooManyAttempts,
    authenticate,
    client_address,
)
from learntwin_graphql.errors import (
    ApiError,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    http_status,
)
from learntwin_graphql.runtime import Runtime


def error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


async def caller(request: Request) -> Principal:
    """Who sent the request (ANONYMOUS without credentials); invalid or throttled
    credentials raise, as they would in GraphQL."""
    runtime: Runtime = request.app.state.runtime
    try:
        return await authenticate(
            api_key=request.headers.get("x-api-key"),
            authorization=request.headers.get("authorization"),
            settings=runtime.settings,
            engine=runtime.reads,
            limiter=runtime.limiter,
            client=client_address(request),
        )
    except AuthError as exc:
        raise Unauthenticated(f"invalid credentials: {exc}") from None
    except TooManyAttempts as exc:
        raise RateLimited(str(exc), retry_after=exc.retry_after) from None
    except (DBAPIError, OSError):
        raise ServiceUnavailable("credentials not checked: the database is not reachable") from None


async def api_error_response(request: Request, exc: Exception) -> Response:
    """The exception handler for ApiError on every REST route."""
    assert isinstance(exc, ApiError)
    extensions = {k: v for k, v in (exc.extensions or {}).items() if k != "code"}
    if exc.code == Unauthenticated.code and not (
        request.headers.get("x-api-key") or request.headers.get("authorization")
    ):
        exc = Unauthenticated("missing credentials: send X-API-Key or Authorization: Bearer")
    response = error(http_status(exc), exc.message, **extensions)
    if isinstance(exc, RateLimited) and "retry_after" in extensions:
        response.headers["Retry-After"] = str(extensions["retry_after"])
    return response
