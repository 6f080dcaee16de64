"""The GraphQL endpoint: HTTP and graphql-transport-ws, with the context built per request."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from learntwin_graphql.auth import AuthError, TooManyAttempts, authenticate, client_address
from learntwin_graphql.context import Context
from learntwin_graphql.errors import RateLimited, Unauthenticated, http_error_body
from learntwin_graphql.fast_lane import FastLane
from learntwin_graphql.middleware import new_request_id
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.ws_protocol import TransportWSHandler

log = logging.getLogger("learntwin.graphql")


def request_id_of(request: Request | WebSocket) -> str:
    return request.scope.get("state", {}).get("request_id") or new_request_id()


class SocketCount:
    """Open WebSockets of this process per client key (an address, a credential)."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def open(self, key: str, limit: int) -> bool:
        """Count one more socket for `key`, unless `limit` are open already."""
        count = self._open.get(key, 0)
        if count >= limit:
            return False
        self._open[key] = count + 1
        return True

    def close(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)


def credentials_of(params: dict[str, Any]) -> tuple[str | None, str | None]:
    """(API key, Authorization) from a connection_init payload, sent the way clients send
    them: `apiKey` / `authorization`, or the HTTP header names in any case (GraphiQL and
    Apollo pass the same headers as their queries: `X-API-Key`, `Authorization`)."""
    found: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(key, str) and isinstance(value, str) and value:
            name = key.lower().replace("_", "-")
            if name in ("apikey", "api-key", "x-api-key"):
                found.setdefault("key", value)
            elif name == "authorization":
                found.setdefault("authorization", value)
    headers = params.get("headers")
    if isinstance(headers, dict) and headers is not params:
        nested = credentials_of(headers)
        found.setdefault("key", nested[0] or "")
        found.setdefault("authorization", nested[1] or "")
    return found.get("key") or None, found.get("authorization") or None


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Any, runtime: Runtime) -> None:
        settings = runtime.settings
        super().__init__(
            schema,
            graphql_ide=None if settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            keep_alive=True,
            keep_alive_interval=15,
        )
        self.runtime = runtime
        self.settings = settings
        self.sockets = SocketCount()
        known = getattr(schema, "known_documents", None)
        self.fast_lane = (
            FastLane(self, known, settings.max_query_cost)
            if settings.http_fast_lane and known is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = None
            if self.fast_lane is not None and scope["method"] == "POST":
                response = await self.fast_lane.answer(request)
            if response is None:  # the body read by the fast lane stays readable
                response = await self.run(request)
        except HTTPException as exc:
            response = JSONResponse(http_error_body(exc.status_code, exc.reason), exc.status_code)
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A graphql-transport-ws connection, within the per-address bound (the
        per-credential one is checked in `on_ws_connect`)."""
        websocket = WebSocket(scope, receive=receive, send=send)
        address = client_address(websocket)
        if not self.sockets.open(f"address:{address}", self.settings.max_websockets_per_address):
            await websocket.accept(subprotocol=GRAPHQL_TRANSPORT_WS_PROTOCOL)
            await websocket.close(1013, "too many open connections from this address")
            return
        try:
            await self.run(websocket)
        finally:
            self.sockets.close(f"address:{address}")
            credential = getattr(websocket.state, "credential", None)
            if credential is not None:
                self.sockets.close(credential)

    def decode_json(self, data: str | bytes) -> object:
        # orjson.JSONDecodeError is a json.JSONDecodeError, so a bad body is still a 400.
        body = orjson.loads(data)
        if not isinstance(body, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return body

    def encode_json(self, data: object) -> str:
        # A str, not bytes: graphql-transport-ws messages must go out as text frames.
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # an integer beyond 64 bits inside a JSON value
            return json.dumps(data, separators=(",", ":"))

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            request=request,
            response=response,
            runtime=self.runtime,
            request_id=request_id_of(request),
        )
        if isinstance(request, Request):
            try:
                context.set_principal(
                    await authenticate(
                        api_key=request.headers.get("x-api-key"),
                        authorization=request.headers.get("authorization"),
                        settings=self.runtime.settings,
                        engine=self.runtime.reads,
                        limiter=self.runtime.limiter,
                        client=client_address(request),
                    )
                )
            except AuthError as exc:
                context.auth_error = partial(Unauthenticated, f"Invalid credentials: {exc}.")
            except TooManyAttempts as exc:
                context.auth_error = partial(
                    RateLimited, f"{str(exc).capitalize()}.", retryAfter=exc.retry_after
                )
            except (DBAPIError, OSError):
                log.warning("credentials not checked: database unavailable", exc_info=True)
                raise HTTPException(
                    503, "Service unavailable: the database is not reachable."
                ) from None
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object]:
        params = context.connection_params
        if not isinstance(params, dict):
            raise ConnectionRejectionError({"message": "connection_init payload must be an object"})
        api_key, authorization = credentials_of(params)
        if api_key is None and authorization is None:
            raise ConnectionRejectionError(
                {"message": "credentials required: apiKey or authorization"}
            )
        try:
            principal = await authenticate(
                api_key=api_key,
                authorization=authorization,
                settings=self.runtime.settings,
                engine=self.runtime.reads,
                limiter=self.runtime.limiter,
                client=client_address(context.request),
            )
        except AuthError as exc:
            raise ConnectionRejectionError({"message": f"invalid credentials: {exc}"}) from None
        except TooManyAttempts as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from None
        except (DBAPIError, OSError):
            log.warning("credentials not checked: database unavailable", exc_info=True)
            raise ConnectionRejectionError({"message": "service unavailable"}) from None
        credential = (
            f"key:{principal.api_key_name}"
            if principal.api_key_name is not None
            else f"user:{principal.user_id}"
        )
        if not self.sockets.open(credential, self.settings.max_websockets_per_credential):
            raise ConnectionRejectionError(
                {"message": "too many open connections with these credentials"}
            )
        context.request.state.credential = credential  # released when the socket closes
        context.set_principal(principal)
        return {"role": principal.role.value if principal.role else None}
