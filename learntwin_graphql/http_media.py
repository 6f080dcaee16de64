"""GraphQL over HTTP's rules about answers: which media type the client gets, whether a
response is a request error (a 400 under application/graphql-response+json), and the
refusal raised before execution."""

from __future__ import annotations

from cross_web import HTTPException

from learntwin_graphql.errors import INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
SUBSCRIPTION_OVER_HTTP = "Subscriptions need the WebSocket: graphql-transport-ws at /graphql."


class RequestRefused(HTTPException):
    """A request answered with one GraphQL error before execution: its status, code and
    any headers (`Allow` for a 405)."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code
        self.headers = headers or {}


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media, *params = item.split(";")
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        ranges.append((media.strip().lower(), q))
    return ranges


def negotiate(accept: str | None) -> str:
    """The media type of the answer: `application/graphql-response+json` when `accept`
    names it with a higher q than `application/json` (or its wildcards), or the same q
    and earlier; `application/json` otherwise."""
    if not accept or "graphql-response+json" not in accept:
        return JSON
    best: dict[str, tuple[float, int]] = {}
    for index, (media, q) in enumerate(_media_ranges(accept)):
        if media == GRAPHQL_RESPONSE:
            kind = GRAPHQL_RESPONSE
        elif media in (JSON, "application/*", "*/*"):
            kind = JSON
        else:
            continue
        if kind not in best or q > best[kind][0]:
            best[kind] = (q, index)
    graphql_q, graphql_at = best.get(GRAPHQL_RESPONSE, (0.0, 0))
    json_q, json_at = best.get(JSON, (0.0, 0))
    if graphql_q > 0 and (graphql_q > json_q or (graphql_q == json_q and graphql_at < json_at)):
        return GRAPHQL_RESPONSE
    return JSON


def is_request_error(payload: object) -> bool:
    """A GraphQL response for a request that did not start executing: no data and only
    errors about the request itself (no path; not an outage or a bug)."""
    if not isinstance(payload, dict) or payload.get("data") is not None:
        return False
    errors = payload.get("errors")
    if not errors:
        return False
    for error in errors:
        if not isinstance(error, dict) or error.get("path") is not None:
            return False
        code = (error.get("extensions") or {}).get("code")
        if code in (INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE):
            return False
    return True
