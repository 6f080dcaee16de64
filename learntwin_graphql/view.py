"""The GraphQL endpoint: HTTP and graphql-transport-ws, with the context built per request.

Over HTTP it follows the GraphQL over HTTP spec:

- the answer is `application/graphql-response+json` when the client's Accept prefers it
  (listed before `application/json`, or with a higher q), else `application/json`
  (also for `*/*`, no Accept, or an Accept naming neither);
- with `application/graphql-response+json` a request error (a document that does not
  parse or validate, variables that do not coerce, no query, several operations and no
  `operationName`, a cost over the limit) is a 400 whose body has no `data`; with
  `application/json` it stays a 200 with `"data": null` (as the spec allows). Field errors
  are 200 with `data` for both;
- every refusal before execution is a GraphQL JSON body, `{"errors": [{"message",
  "extensions": {"code"}}]}` (see `errors.http_error_body`), never text: a POST without
  an `application/json` body is a 415, a body that is not JSON or not an object a 400,
  a method other than GET and POST a 405 with `Allow: GET, POST`, a mutation over GET a
  405 with `Allow: POST`;
- a subscription sent over HTTP is refused with BAD_USER_INPUT: subscriptions need the
  WebSocket (graphql-transport-ws at /graphql);
- automatic persisted queries (Apollo's) in POST bodies and GET parameters, see
  `persisted_queries`.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from learntwin_graphql.auth import AuthError, TooManyAttempts, authenticate, client_address
from learntwin_graphql.context import Context
from learntwin_graphql.errors import (
    BadUserInput,
    RateLimited,
    Unauthenticated,
    http_error_body,
)
from learntwin_graphql.fast_lane import FastLane
from learntwin_graphql.graphiql import graphiql_html
from learntwin_graphql.http_media import (
    GRAPHQL_RESPONSE,
    JSON,
    SUBSCRIPTION_OVER_HTTP,
    RequestRefused,
    is_request_error,
    negotiate,
)
from learntwin_graphql.middleware import new_request_id
from learntwin_graphql.persisted_queries import (
    PersistedQueries,
    PersistedQueryError,
    is_persisted,
)
from learntwin_graphql.query_limits import _parse, operation_named
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.ws_auth import SocketCount, credentials_of
from learntwin_graphql.ws_protocol import TransportWSHandler

log = logging.getLogger("learntwin.graphql")


def request_id_of(request: Request | WebSocket) -> str:
    return request.scope.get("state", {}).get("request_id") or new_request_id()


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
        self.persisted_queries = PersistedQueries(runtime.redis)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        accept = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
                break
        media_type = request.state.graphql_media_type = negotiate(accept)
        try:
            response = None
            method = scope["method"]
            if method not in ("GET", "POST"):
                raise RequestRefused(
                    405, "GraphQL is served over GET and POST.", headers={"Allow": "GET, POST"}
                )
            if self.fast_lane is not None and method == "POST":
                response = await self.fast_lane.answer(request)
            if response is None:  # the body read by the fast lane stays readable
                response = await self.run(request)
        except RequestRefused as exc:
            body = http_error_body(
                exc.status_code, exc.reason, **({"code": exc.code} if exc.code else {})
            )
            response = JSONResponse(body, exc.status_code, exc.headers, media_type=media_type)
        except HTTPException as exc:
            body = http_error_body(exc.status_code, exc.reason)
            response = JSONResponse(body, exc.status_code, media_type=media_type)
        except PersistedQueryError as exc:
            body = http_error_body(exc.status, exc.message, code=exc.code)
            response = JSONResponse(body, exc.status, media_type=media_type)
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

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL with a headers example whose subscriptions use the same headers."""
        return graphiql_html(self.settings)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying a persisted query's hash has no `query` either: it is no page view.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def parse_http_body(self, request_adapter: Any) -> Any:
        if request_adapter.method == "POST":
            content_type, _ = parse_content_type(request_adapter.content_type or "")
            if content_type != JSON:
                raise RequestRefused(
                    415,
                    "Unsupported content type: send the request as application/json.",
                )
        return await super().parse_http_body(request_adapter)

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        store_as = None
        if is_persisted(request_data.extensions):
            assert request_data.extensions is not None
            request_data.query, store_as = await self.persisted_queries.resolve(
                request_data.query, request_data.extensions["persistedQuery"]
            )
        document = self._parsed(request_data.query)
        problem = self._operation_problem(request_adapter.method, request_data, document)
        if problem is not None:
            return ExecutionResult(data=None, errors=[problem])
        if store_as is not None and document is not None:
            # Only a document that parses is kept (one that fails validation fails alike
            # by its hash).
            await self.persisted_queries.store(store_as, request_data.query)  # type: ignore[arg-type]
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    def _parsed(self, query: object) -> DocumentNode | None:
        """The document (parsed once: the parse is cached for Strawberry's path too), or
        None when there is none or it does not parse (Strawberry reports that)."""
        if not isinstance(query, str) or not query:
            return None
        try:
            return _parse(query, self.settings.max_query_tokens)
        except Exception:  # a syntax error, the token limit, too deep for the parser
            return None

    def _operation_problem(
        self, method: str, request: GraphQLRequestData, document: DocumentNode | None
    ) -> GraphQLError | None:
        """The request errors Strawberry would not report (or not as the spec wants):
        several operations and no name, a subscription over HTTP, a mutation over GET
        (raised: a 405)."""
        name = request.operation_name
        if not (name is None or isinstance(name, str)):
            raise RequestRefused(400, "The GraphQL operation's `operationName` must be a string.")
        if document is None:
            return None
        if name is None:
            operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if operations > 1:
                return BadUserInput(
                    "The document has several operations: say which one to run with "
                    "`operationName`."
                )
        operation = operation_named(document.definitions, name)
        if operation is None:
            return None
        if operation.operation is OperationType.SUBSCRIPTION:
            return BadUserInput(SUBSCRIPTION_OVER_HTTP)
        if method == "GET" and operation.operation is OperationType.MUTATION:
            raise RequestRefused(
                405,
                "Mutations are not allowed over GET: send them with POST.",
                headers={"Allow": "POST"},
            )
        return None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        state = request.scope.get("state") or {}
        sub_response.media_type = state.get("graphql_media_type", JSON)
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = 200
        if media_type == GRAPHQL_RESPONSE and is_request_error(response_data):
            # The spec: no `data` (the request did not execute), and a 4xx.
            response_data = {k: v for k, v in response_data.items() if k != "data"}  # type: ignore[union-attr]
            status = 400
        response = Response(
            self.encode_json(response_data), status_code=status, media_type=media_type
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

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
