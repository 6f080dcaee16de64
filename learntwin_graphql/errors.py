"""Errors a client can act on, each with `extensions.code`; everything else is masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError, VariableDefinitionNode
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

log = logging.getLogger("learntwin.errors")

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"
RATE_LIMITED = "RATE_LIMITED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

# HTTP statuses and codes, both ways: a request refused before GraphQL runs gets the code
# of its status, and a REST route answers an ApiError with the status of its code.
_HTTP_CODES = {
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    429: RATE_LIMITED,
    503: SERVICE_UNAVAILABLE,
}
_STATUS_OF = {code: status for status, code in _HTTP_CODES.items()} | {BAD_USER_INPUT: 400}


def http_error_body(status: int, message: str, **extensions: object) -> dict[str, object]:
    """A GraphQL-shaped body for a request refused at the HTTP level (bad body, too large,
    database down): clients read `errors[].extensions.code` there as everywhere else."""
    code = _HTTP_CODES.get(status, BAD_USER_INPUT if status < 500 else INTERNAL_SERVER_ERROR)
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


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


class ServiceUnavailable(ApiError):
    code = SERVICE_UNAVAILABLE


def http_status(error: ApiError) -> int:
    """The HTTP status a REST route answers `error` with."""
    return getattr(error, "http_status", None) or _STATUS_OF.get(error.code, 500)


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


def _about_variables(error: GraphQLError) -> bool:
    """A variable's value was refused while coercing it (before any resolver ran)."""
    return error.path is None and any(
        isinstance(node, VariableDefinitionNode) for node in error.nodes or ()
    )


# What Strawberry raises for a request it cannot pick an operation from (no query, an
# unknown operationName, several operations without one), on any transport.
_REQUEST_PROBLEMS = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)


def classify(
    error: GraphQLError, *, request_id: str | None, hide_suggestions: bool = False
) -> GraphQLError:
    """The error as the client sees it, always with a code; unexpected ones masked.

    - our own ApiErrors (and errors already coded) keep their code and message;
    - errors with no original exception are the client's query (syntax, validation,
      variables, limits), and so is a variable a scalar refused: BAD_USER_INPUT;
    - anything else is a bug or an outage: INTERNAL_SERVER_ERROR, message hidden and
      logged with the request id.
    """
    if hide_suggestions and " Did you mean " in error.message:
        # Suggestions name fields, arguments, types and enum values: schema details.
        error.message = error.message.split(" Did you mean ")[0]
    original = error.original_error
    if (error.extensions or {}).get("code"):
        return error
    if isinstance(original, ApiError):
        return _with_code(error, original.code)
    if original is None or _about_variables(error):
        return _with_code(error, BAD_USER_INPUT)
    if isinstance(original, GraphQLError) and original.original_error is None:
        return _with_code(error, BAD_USER_INPUT)
    if isinstance(original, _REQUEST_PROBLEMS):  # no query, or no operation to run
        return _with_code(error, BAD_USER_INPUT)
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()),
        request_id,
        exc_info=original,
    )
    return _with_code(error, INTERNAL_SERVER_ERROR, "Unexpected error.", requestId=request_id)
