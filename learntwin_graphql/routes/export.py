"""GET /export/{classId}.csv: a class's records as streamed CSV, in constant memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from db.metrics import export_csv
from learntwin_graphql import auth
from learntwin_graphql.api.classes import EXPORT_PURPOSE, export_claims
from learntwin_graphql.routes.credentials import error, staff_or_error
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.timeutil import parse_datetime

_QUEUE_CHUNKS = 64  # chunks in flight between COPY and the socket: the memory bound


def class_id_of(request: Request) -> str | JSONResponse:
    """The class id in the path (any text a class id may hold, `/` included), or the 400
    to send for one that no class can have."""
    class_id = request.path_params["class_id"]
    if not class_id or "\x00" in class_id or len(class_id) > 1000:
        return error(400, "the class id must be 1..1000 characters without NUL")
    return class_id


def content_disposition(filename: str) -> str:
    """An attachment header (RFC 6266) that survives any name: the UTF-8 name as
    `filename*`, and for older clients an ASCII `filename` with the rest replaced."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def parse_range(request: Request) -> tuple[datetime | None, datetime | None] | JSONResponse:
    bounds: list[datetime | None] = []
    for name in ("from", "to"):
        raw = request.query_params.get(name)
        try:
            bounds.append(parse_datetime(raw) if raw else None)
        except ValueError as exc:
            return error(400, f"`{name}`: {exc}")
    start, end = bounds
    if start is not None and end is not None and start > end:
        return error(400, "`from` must not be after `to`")
    return start, end


async def export(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    class_id = class_id_of(request)
    if isinstance(class_id, JSONResponse):
        return class_id
    class_id = class_id.removesuffix(".csv")
    window = parse_range(request)
    if isinstance(window, JSONResponse):
        return window
    start, end = window
    token = request.query_params.get("token")
    if token:
        try:
            claims = auth.verify_claims(token, runtime.settings, EXPORT_PURPOSE)
        except auth.AuthError as exc:
            return error(401, str(exc))
        if {k: claims.get(k) for k in ("cls", "from", "to")} != export_claims(class_id, start, end):
            return error(401, "the link does not match this class and range")
    else:
        principal = await staff_or_error(request)
        if isinstance(principal, Response):
            return principal

    async def body() -> AsyncIterator[bytes]:
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
            await task  # surfaces a COPY failure instead of a silently short file
        finally:
            if not task.done():  # the client went away: stop reading from Postgres
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(f"{class_id}.csv"),
            "Cache-Control": "no-store",
        },
    )


routes = [Route("/export/{class_id:path}", export, methods=["GET"])]
