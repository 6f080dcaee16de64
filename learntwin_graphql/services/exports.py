"""CSV export: links signed for one class and range, and the CSV itself, streamed from
COPY in constant memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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


def export_link(
    runtime: Runtime,
    principal: Principal,
    base_url: str,
    class_id: str,
    start: datetime | None,
    end: datetime | None,
) -> str:
    """A link a browser can open as is: it carries a short-lived token for this class and
    range (staff)."""
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
