"""CSV export: links signed for one class and range, and the CSV itself, streamed from
COPY in constant memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from db.export import export_csv
from learntwin_graphql import auth, permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services.analytics import check_range
from learntwin_graphql.timeutil import format_datetime

PURPOSE = "export"
_QUEUE_CHUNKS = 64  # chunks in flight between COPY and the socket: the memory bound


def _claims(class_id: str, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    return {
        "cls": class_id,
        "from": format_datetime(start) if start else None,
        "to": format_datetime(end) if end else None,
    }


_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_base_url(scope: Mapping[str, Any], allowed_hosts: Sequence[str] = ()) -> str:
    """This server's own address for links, from an ASGI scope: the scheme, then the
    first configured allowed host that is not a wildcard (LEARNTWIN_ALLOWED_HOSTS), else
    the address the connection was accepted on (`server`, the listening socket's), plus
    the mount path. Never the request's `Host` header, which any client sets at will."""
    scheme = str(scope.get("scheme", "http"))
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if scheme not in _DEFAULT_PORTS:
        scheme = "http"
    named = next((h for h in allowed_hosts if h and "*" not in h), None)
    if named is not None:
        return f"{scheme}://{named}{scope.get('root_path', '')}"
    server = scope.get("server")
    # No server address (or a Unix socket's path): the loopback address.
    host, port = (str(server[0]), server[1]) if server and server[0] else ("127.0.0.1", None)
    if "/" in host:
        host, port = "127.0.0.1", None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{scope.get('root_path', '')}"


def export_link(
    runtime: Runtime,
    principal: Principal,
    base_url: str,
    class_id: str,
    start: datetime | None,
    end: datetime | None,
) -> str:
    """A link a browser can open as is: it carries a short-lived token for this class and
    range (staff). It starts with LEARNTWIN_PUBLIC_URL when set, else with `base_url`
    (the server's own address, see server_base_url); the class id is percent-encoded as
    one path segment, so any id (`#`, `?`, `/`, non-ASCII) leads back to its class."""
    permissions.require_staff(principal)
    check_range(start, end)
    settings = runtime.settings
    token = auth.sign_claims(
        _claims(class_id, start, end), settings, settings.export_token_ttl_seconds, PURPOSE
    )
    params = {"token": token}
    if start:
        params["from"] = format_datetime(start)
    if end:
        params["to"] = format_datetime(end)
    base = settings.public_url or base_url
    return f"{base.rstrip('/')}/export/{quote(class_id, safe='')}.csv?{urlencode(params)}"


def check_link(
    runtime: Runtime, token: str, class_id: str, start: datetime | None, end: datetime | None
) -> None:
    """Raises AuthError unless `token` was signed for exactly this class and range."""
    claims = auth.verify_claims(token, runtime.settings, PURPOSE)
    if {k: claims.get(k) for k in ("cls", "from", "to")} != _claims(class_id, start, end):
        raise auth.AuthError("the link does not match this class and range")


async def stream_csv(
    runtime: Runtime, class_id: str, start: datetime | None, end: datetime | None
) -> AsyncIterator[bytes]:
    """The class's records as CSV chunks; stops reading from Postgres when the consumer
    goes away, and surfaces a COPY failure instead of ending the file early."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUE_CHUNKS)

    async def sink(chunk: bytes | bytearray) -> None:
        await queue.put(bytes(chunk))  # asyncpg hands out bytearrays

    async def copy() -> None:
        try:
            await export_csv(runtime.engine, class_id, start, end, sink)
        finally:
            await queue.put(None)

    task = asyncio.create_task(copy())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await task
    finally:
        if not task.done():  # the client went away: stop reading from Postgres
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
