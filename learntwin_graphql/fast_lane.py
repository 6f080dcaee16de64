"""The ordinary GraphQL POST, answered on a short path.

Most requests a client sends are a document it has sent before, as JSON, asking for JSON.
For those, Strawberry's per-request machinery (its request adapter, extension runner,
execution context and result processing) costs more than executing a small query. Once
a document has passed parsing, validation and the operation-type check on Strawberry's
own path, `KnownDocuments` remembers it; a later POST of the same text is executed here
directly by graphql-core, with the same execution context class, context, cost check and
error classification, and answered with the same JSON.

Anything else takes Strawberry's path, which then produces exactly its usual answer:
another content type, an `Accept` asking for a stream, a batch, `extensions` (so every
persisted query, by hash or with its document, is checked and stored there), a document
not known yet, several operations and no `operationName`, an operation that is not a
query or a mutation (a subscription), variables of the wrong JSON type, a cost above the
limit (Strawberry's path reports it).

The answer goes through the view's `create_response`, like Strawberry's: the media type
negotiated from `Accept` and, for `application/graphql-response+json`, a request error
(variables that do not coerce) as a 400 without `data`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
from graphql import DocumentNode, OperationType
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.utils.await_maybe import await_maybe

from learntwin_graphql.errors import BadUserInput, classify
from learntwin_graphql.query_limits import check_cost, operation_named

if TYPE_CHECKING:
    from learntwin_graphql.view import GraphQLView

_RUNNABLE = (OperationType.QUERY, OperationType.MUTATION)
_STREAMS = (b"multipart/mixed", b"text/event-stream")


class KnownDocuments:
    """Documents that passed Strawberry's parsing, validation and operation-type check,
    by query text; the most recently used `size` are kept."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def remember(self, query: str, document: DocumentNode) -> None:
        self._documents[query] = document
        self._documents.move_to_end(query)
        if len(self._documents) > self.size:
            self._documents.popitem(last=False)

    def get(self, query: str) -> DocumentNode | None:
        document = self._documents.get(query)
        if document is not None:
            self._documents.move_to_end(query)
        return document


class FastLane:
    """Answers the POSTs described in the module docstring for `view`; None for any
    other request, which the caller hands to Strawberry (the body stays readable)."""

    def __init__(self, view: GraphQLView, known: KnownDocuments, max_cost: int) -> None:
        self.view = view
        self.known = known
        self.max_cost = max_cost
        self.answered = 0  # requests served here, for tests and diagnostics
        schema = view.schema
        self._graphql_schema = schema._schema  # type: ignore[attr-defined]
        self._execute = schema._get_execute_function()  # type: ignore[attr-defined]
        self._execute_kwargs = {
            **execution_context_class_kwargs(schema.execution_context_class),  # type: ignore[attr-defined]
            **schema._get_custom_context_kwargs(None),  # type: ignore[attr-defined]
        }
        self._hide_suggestions = getattr(schema, "hide_suggestions", False)

    async def answer(self, request: Request) -> Response | None:
        content_type = accept = b""
        for name, value in request.scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        if b"application/json" not in content_type or any(s in accept for s in _STREAMS):
            return None
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if type(data) is not dict or data.get("extensions") is not None:
            return None
        query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
        if (
            type(query) is not str
            or not (variables is None or type(variables) is dict)
            or not (name is None or type(name) is str)
        ):
            return None
        document = self.known.get(query)
        if document is None:
            return None
        operation = operation_named(document.definitions, name)
        if operation is None or operation.operation not in _RUNNABLE:
            return None
        try:
            check_cost(self._graphql_schema, document, operation, variables, self.max_cost)
        except BadUserInput:
            return None
        view = self.view
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, response=sub_response)
        result = await await_maybe(
            self._execute(
                self._graphql_schema,
                document,
                root_value=None,
                middleware=None,
                variable_values=variables,
                operation_name=name,
                context_value=context,
                is_awaitable=optimized_is_awaitable,
                **self._execute_kwargs,
            )
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [
                classify(
                    e, request_id=context.request_id, hide_suggestions=self._hide_suggestions
                ).formatted
                for e in result.errors
            ]
        self.answered += 1
        return view.create_response(payload, sub_response)  # type: ignore[arg-type]
