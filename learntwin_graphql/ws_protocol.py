"""The graphql-transport-ws protocol as this server speaks it: Strawberry's handler, held
to the protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md) the way the reference
`graphql-ws` server holds a client to it.

- Every frame is checked before it is acted on, with the reference server's rules: a
  frame that is not a message (binary, not JSON, not an object, no or an unknown `type`,
  a `payload` of the wrong kind, a subscribe without a non-empty string `id` or a string
  `query`, `variables`/`extensions` not objects, `operationName` not a string) closes the
  socket with 4400 and a reason, instead of an exception that drops the socket (1011)
  and logs a traceback.
- The states keep their codes: 4401 for an operation before the ack, 4429 for a second
  connection_init, 4409 for an id still running, 4408 when no connection_init arrives.
- An operation's own errors are `error` messages with the codes HTTP gives the same
  document (all of them come through the schema's `classify`); that includes a document
  with no query or without the operation asked for, which HTTP answers as a 400 body
  (BAD_USER_INPUT), and a syntax error, which Strawberry would close the socket for.
- Past `max_subscriptions_per_connection` operations at once, a subscribe gets an
  `error` (RATE_LIMITED, with the `maximum`) and the connection stays up: the protocol
  lets a server refuse one operation that way.
- A ping's payload comes back with its pong, as the reference server does.
- Close reasons are cut to the 123 bytes a close frame can carry, and nothing more is
  read, sent or closed once the socket is closing.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any, cast

from cross_web import HTTPException
from graphql import GraphQLError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    PingMessage,
    SubscribeMessage,
)

from learntwin_graphql.errors import BAD_USER_INPUT, RATE_LIMITED
from learntwin_graphql.query_limits import _parse, operation_named

if TYPE_CHECKING:
    from datetime import timedelta

    from strawberry.http.async_base_view import AsyncBaseHTTPView
    from strawberry.schema import BaseSchema

BAD_REQUEST = 4400
UNAUTHORIZED = 4401
SUBSCRIBER_ALREADY_EXISTS = 4409
CLOSE_REASON_BYTES = 123  # a close frame's payload is 125 bytes, 2 of them the code

_OPTIONAL_PAYLOAD = ("connection_init", "ping", "pong")


def close_reason(text: str) -> str:
    """`text` cut to what a close frame can carry."""
    encoded = text.encode()
    if len(encoded) <= CLOSE_REASON_BYTES:
        return text
    return encoded[: CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."


def already_exists(id: str) -> str:
    """4409's reason, the id shortened if the whole would not fit in a close frame."""
    reason = f"Subscriber for {id} already exists"
    if len(reason.encode()) <= CLOSE_REASON_BYTES:
        return reason
    room = CLOSE_REASON_BYTES - len(b"Subscriber for ... already exists")
    return f"Subscriber for {id.encode()[:room].decode(errors='ignore')}... already exists"


def json_kind(value: object) -> str:
    """The JSON name of a decoded value's kind, for reasons sent to clients."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _not_an_id(message: Mapping[str, Any]) -> str | None:
    id = message.get("id")
    if not isinstance(id, str):
        return f'"{message["type"]}" message needs an "id" string, not {json_kind(id)}'
    if not id:
        return f'"{message["type"]}" message needs a non-empty "id"'
    return None


def _not_a_subscribe(message: Mapping[str, Any]) -> str | None:
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return f'"subscribe" payload must be an object, not {json_kind(payload)}'
    if not isinstance(payload.get("query"), str):
        return f'"subscribe" payload needs a "query" string, not {json_kind(payload.get("query"))}'
    for name in ("variables", "extensions"):
        value = payload.get(name)
        if value is not None and not isinstance(value, dict):
            return f'"subscribe" payload "{name}" must be an object or null, not {json_kind(value)}'
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        return (
            f'"subscribe" payload "operationName" must be a string or null, not {json_kind(name)}'
        )
    return None


def invalid_message(message: object) -> str | None:
    """Why `message` is not a message a client may send (the reason to close with), or
    None for one that is."""
    if not isinstance(message, dict):
        return f"Message must be a JSON object, not {json_kind(message)}"
    kind = message.get("type")
    if not isinstance(kind, str):
        return f'Message needs a "type" string, not {json_kind(kind)}'
    if kind in _OPTIONAL_PAYLOAD:
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            return f'"{kind}" payload must be an object or null, not {json_kind(payload)}'
        return None
    if kind == "subscribe":
        return _not_an_id(message) or _not_a_subscribe(message)
    if kind == "complete":
        return _not_an_id(message)
    return f"Unknown message type: {kind}"


class _Socket(AsyncWebSocketAdapter):
    """The view's socket, closed at most once, with a reason that fits a close frame;
    nothing is sent once it is closing."""

    def __init__(self, socket: AsyncWebSocketAdapter) -> None:
        super().__init__(socket.view)
        self.socket = socket
        self.closing = False

    def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        return self.socket.iter_json(ignore_parsing_errors=ignore_parsing_errors)

    async def send_json(self, message: Mapping[str, object]) -> None:
        if not self.closing:
            await self.socket.send_json(message)

    async def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            await self.socket.close(code, close_reason(reason))


def _error(id: str, message: str, **extensions: object) -> Message:
    error = GraphQLError(message, extensions=extensions)
    return cast("Message", {"id": id, "type": "error", "payload": [error.formatted]})


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's graphql-transport-ws handler, held to the protocol (see above)."""

    websocket: _Socket

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any],
        websocket: AsyncWebSocketAdapter,
        context: Any,
        root_value: Any,
        schema: BaseSchema,
        connection_init_wait_timeout: timedelta,
        max_subscriptions_per_connection: int | None = None,
    ) -> None:
        super().__init__(
            view,
            _Socket(websocket),
            context,
            root_value,
            schema,
            connection_init_wait_timeout,
            max_subscriptions_per_connection,
        )

    async def handle(self) -> None:
        """Strawberry's loop, with a frame that is not JSON of an object or array (which
        `view.decode_json` refuses with an HTTPException) a 4400 like any other bad frame,
        and no frame read after the socket is closing."""
        self.on_request_accepted()
        frames = self.websocket.iter_json()
        try:
            while not self.websocket.closing:
                try:
                    message = await anext(frames)
                except StopAsyncIteration:
                    break
                except NonTextMessageReceived:
                    await self.handle_invalid_message("WebSocket message type must be text")
                except NonJsonMessageReceived:
                    await self.handle_invalid_message("WebSocket message must be valid JSON")
                except HTTPException:
                    # decode_json refuses every JSON value but objects and arrays.
                    await self.handle_invalid_message("Message must be a JSON object")
                else:
                    await self.handle_message(cast("Message", message))
        except WebSocketDisconnected:
            pass
        finally:
            await frames.aclose()
            await self.shutdown()

    async def handle_message(self, message: Message) -> None:
        reason = invalid_message(message)
        if reason is not None:
            await self.handle_invalid_message(reason)
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            # `payload` is optional (and may be null): no connection parameters.
            message = {"type": "connection_init", "payload": {}}
        await super().handle_message(message)

    async def handle_ping(self, message: PingMessage) -> None:
        payload = message.get("payload")
        await self.send_message(
            {"type": "pong", "payload": payload} if payload else {"type": "pong"}
        )

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        id, payload = message["id"], message["payload"]
        if not self.connection_acknowledged:
            await self.websocket.close(UNAUTHORIZED, "Unauthorized")
            return
        if id in self.operations:
            await self.websocket.close(SUBSCRIBER_ALREADY_EXISTS, already_exists(id))
            return
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            # Every operation in flight counts, queries and mutations included.
            await self.send_message(
                _error(
                    id,
                    f"Too many operations at once on this connection: at most {limit}. "
                    "Complete one first.",
                    code=RATE_LIMITED,
                    maximum=limit,
                )
            )
            return
        refused = self._refused_document(payload["query"], payload.get("operationName"))
        if refused is not None:
            await self.send_message(_error(id, refused, code=BAD_USER_INPUT))
            return
        await super().handle_subscribe(message)

    def _refused_document(self, query: str, operation_name: str | None) -> str | None:
        """What HTTP answers with a 400 body instead of running: no query, or not exactly
        one operation to run (the stream would report these as unexpected errors). A
        syntax error is left to the schema, which reports it as HTTP does."""
        if not query:
            return "No GraphQL query found in the request"
        settings = getattr(self.view, "settings", None)
        if settings is None:
            return None
        try:
            # The parse RequestChecks makes next, cached: the same document, the same limit.
            document = _parse(query, settings.max_query_tokens)
        except GraphQLError:
            return None
        if operation_named(document.definitions, operation_name) is None:
            return CannotGetOperationTypeError(operation_name).as_http_error_reason()
        return None

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        # Syntax errors and the like are the operation's errors: an `error` message with
        # its code, as over HTTP, not a closed socket.
        return None

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            return  # the client left while its operation was sending: nothing went wrong
        await super().handle_task_exception(error)


__all__ = ["TransportWSHandler", "close_reason", "invalid_message"]
