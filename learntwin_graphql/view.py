"""The GraphQL endpoint: HTTP and graphql-transport-ws, with the context built per request."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import orjson
from cross_web import HTTPException
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from learntwin_graphql.auth import AuthError, authenticate
from learntwin_graphql.context import Context
from learntwin_graphql.runtime import Runtime

log = logging.getLogger("learntwin.graphql")


def request_id_of(request: Request | WebSocket) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


class GraphQLView(GraphQL[Context, None]):
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

    def decode_json(self, data: str | bytes) -> object:
        # orjson.JSONDecodeError is a json.JSONDecodeError, so a bad body is still a 400.
        return orjson.loads(data)

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
                        engine=self.runtime.engine,
                    )
                )
            except AuthError as exc:
                context.auth_error = f"Invalid credentials: {exc}."
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
        api_key = params.get("apiKey")
        authorization = params.get("authorization") or params.get("Authorization")
        if not (isinstance(api_key, str) and api_key) and not (
            isinstance(authorization, str) and authorization
        ):
            raise ConnectionRejectionError(
                {"message": "credentials required: apiKey or authorization"}
            )
        try:
            principal = await authenticate(
                api_key=api_key if isinstance(api_key, str) else None,
                authorization=authorization if isinstance(authorization, str) else None,
                settings=self.runtime.settings,
                engine=self.runtime.engine,
            )
        except AuthError as exc:
            raise ConnectionRejectionError({"message": f"invalid credentials: {exc}"}) from None
        except (DBAPIError, OSError):
            log.warning("credentials not checked: database unavailable", exc_info=True)
            raise ConnectionRejectionError({"message": "service unavailable"}) from None
        context.set_principal(principal)
        return {"role": principal.role.value if principal.role else None}
