"""Errors a client can act on, each with `extensions.code`; everything else is masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("learntwin.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class ApiError(GraphQLError):
    code = INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(ApiError):
    code = UNAUTHENTICATED

    def __init__(self, message: str = "Authentication required.", **extensions: object) -> None:
        super().__init__(message, **extensions)


class Forbidden(ApiError):
    code = FORBIDDEN

    def __init__(self, message: str = "Not allowed.", **extensions: object) -> None:
        super().__init__(message, **extensions)


class NotFound(ApiError):
    code = NOT_FOUND


class BadUserInput(ApiError):
    code = BAD_USER_INPUT

    def __init__(self, message: str, *, field: str | None = None, **extensions: object) -> None:
        if field is not None:
            extensions["field"] = field
        super().__init__(message, **extensions)


class RateLimited(ApiError):
    code = RATE_LIMITED


def _with_code(
    error: GraphQLError, code: str, message: str | None = None, **extra: object
) -> GraphQLError:
    return GraphQLError(
        message if message is not None else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code, **extra},
    )


class ErrorCodes(SchemaExtension):
    """Gives every error a code and masks the unexpected ones (logged with the request id).

    - our own ApiErrors keep their code and message;
    - errors with no original exception are the client's query (syntax, validation,
      variables, limits): BAD_USER_INPUT with graphql-core's message;
    - anything else is a bug or an outage: INTERNAL_SERVER_ERROR, message hidden.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self.classify(error) for error in result.errors]

    def classify(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ApiError) or (error.extensions or {}).get("code"):
            code = (error.extensions or {}).get("code") or getattr(original, "code", None)
            return error if code else _with_code(error, INTERNAL_SERVER_ERROR)
        if original is None:
            return _with_code(error, BAD_USER_INPUT)
        if isinstance(original, GraphQLError) and original.original_error is None:
            return _with_code(error, BAD_USER_INPUT)
        request_id = getattr(self.execution_context.context, "request_id", None)
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(p) for p in error.path or ()),
            request_id,
            exc_info=original,
        )
        return _with_code(error, INTERNAL_SERVER_ERROR, "Unexpected error.", requestId=request_id)
