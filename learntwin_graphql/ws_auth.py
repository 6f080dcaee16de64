"""What a graphql-transport-ws connection is admitted by: the credentials in its
connection_init payload, and the count of open sockets per client."""

from __future__ import annotations

from typing import Any


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
