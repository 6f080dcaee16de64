"""GET /export/{classId}.csv: a class's records as streamed CSV, in constant memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from db.metrics import export_csv
from learntwin_graphql import auth
from learntwin_graphql.graphql.classes import EXPORT_PURPOSE, export_claims
from learntwin_graphql.rest_auth import error, staff_or_error
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.timeutil import parse_datetime

_QUEUE_CHUNKS = 64  # chunks in flight between COPY and the socket: the memory bound


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
    class_id = request.path_params["class_id"].removesuffix(".csv")
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

    filename = f"{class_id}.csv".replace('"', "")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


routes = [Route("/export/{class_id}", export, methods=["GET"])]
