"""GET /export/{classId}.csv: a class's records as streamed CSV, in constant memory."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from learntwin_graphql import auth, permissions
from learntwin_graphql.routes.credentials import caller, error
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import exports
from learntwin_graphql.timeutil import parse_datetime


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
            exports.check_link(runtime, token, class_id, start, end)
        except auth.AuthError as exc:
            return error(401, str(exc))
    else:
        permissions.require_staff(await caller(request))
    return StreamingResponse(
        exports.stream_csv(runtime, class_id, start, end),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(f"{class_id}.csv"),
            "Cache-Control": "no-store",
        },
    )


routes = [Route("/export/{class_id:path}", export, methods=["GET"])]
