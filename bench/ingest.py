"""Ingest throughput: N records in requests of B through POST /ingest/json and through the
GraphQL ingestMetrics mutation, each client sending its requests one after another, beside
the floor: the same records copied straight into the database.

    python bench/ingest.py --url http://127.0.0.1:8000 --api-key devkey [--records 100000]
        [--batch 1000] [--clients 4] [--event-ids] [--spread-seconds 7200]
        [--paths floor,rest_json,graphql] [--database-url postgresql://…]

Request bodies are built and serialised before the clock starts, so the figure is the
server's (plus the HTTP round trips), not this script's JSON encoding.

The floor (`floor`) is what the issue calls "a raw COPY of the same records": asyncpg's
`copy_records_to_table` of the rows exactly as the server stores them (the same columns
and typed values, records built by the same generator) into the `metrics` table of the
server's database (`--database-url`, default `DATABASE_URL`), one COPY per batch of the
same size, from the same number of connections, each COPY its own transaction as each
request is. It leaves out, on purpose, everything else the server does in the same
transaction: the class and membership upsert and the hourly and daily rollup upsert (and
the HTTP, JSON and validation before them). That work is part of what the routes cost, so
a route can never reach 1.0 of the floor; the floor stays what the bulk write alone costs
on this machine at this moment, which is what makes the ratios (`vs_floor`) comparable
between runs on a shared machine. The target is `graphql >= 0.5 x floor`. Without a
database URL the floor is skipped and the ratios are null.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
from common import async_client, emit, parser, progress, seed_records, summary_ms

INGEST = """
mutation Ingest($records: [MetricInput!]!) {
  ingestMetrics(records: $records) { accepted duplicates rejected { index field message } }
}
"""
TARGETS = {"rest_json": 80_000, "graphql": 30_000}
# GraphQL ingest should move at least this share of what a raw COPY moves (see above).
GRAPHQL_FLOOR_TARGET = 0.5
# The metrics columns the server's COPY writes, in its order (db/ingest.py).
COPY_COLUMNS = ["class_id", "student_id", "stuck", "got_it", "pause", "example", "confidence", "ts"]


def to_graphql(record: dict[str, Any]) -> dict[str, Any]:
    out = {
        "classId": record["class_id"],
        "studentId": record["student_id"],
        "stuck": bool(record["stuck"]),
        "gotIt": bool(record["got_it"]),
        "pause": bool(record["pause"]),
        "example": bool(record["example"]),
        "confidence": record["confidence"],
        "timestamp": record["timestamp"],
    }
    if "event_id" in record:
        out["eventId"] = record["event_id"]
    return out


def batches(args: argparse.Namespace, class_id: str) -> list[list[dict[str, Any]]]:
    """The records of every request, in the seed's REST shape. Timestamps fall over the
    last --spread-seconds (2 hours by default): a live class, a handful of rollup buckets,
    index insertions spread over that window."""
    end = datetime.now(UTC) - timedelta(seconds=30)
    return [
        seed_records(
            class_id,
            min(args.batch, args.records - offset),
            start=offset,
            end=end,
            spread=timedelta(seconds=args.spread_seconds),
            event_ids=args.event_ids,
        )
        for offset in range(0, args.records, args.batch)
    ]


def bodies(args: argparse.Namespace, class_id: str, graphql: bool) -> list[bytes]:
    out = []
    for records in batches(args, class_id):
        if graphql:
            payload: Any = {
                "query": INGEST,
                "variables": {"records": [to_graphql(r) for r in records]},
            }
        else:
            payload = records
        out.append(orjson.dumps(payload))
    return out


def rest_accepted(answer: dict[str, Any]) -> int:
    if answer.get("errors"):
        raise RuntimeError(f"records refused: {answer['errors'][:3]}")
    return int(answer["rows_ok"])


def graphql_accepted(answer: dict[str, Any]) -> int:
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors'][:3]}")
    payload = answer["data"]["ingestMetrics"]
    if payload["rejected"]:
        raise RuntimeError(f"records refused: {payload['rejected'][:3]}")
    return int(payload["accepted"])


async def run_path(
    args: argparse.Namespace,
    path: str,
    payloads: list[bytes],
    accepted_of: Callable[[dict[str, Any]], int],
) -> dict[str, Any]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in payloads:
        queue.put_nowait(body)
    latencies: list[float] = []
    accepted = 0
    async with async_client(args, connections=args.clients) as client:
        # One warm-up request per connection (tiny, to another class) before the clock.
        await asyncio.gather(*(client.get("/healthz") for _ in range(args.clients)))

        async def sender() -> None:
            nonlocal accepted
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                sent = time.perf_counter()
                response = await client.post(
                    path, content=body, headers={"Content-Type": "application/json"}
                )
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                accepted += accepted_of(response.json())

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(args.clients)))
        elapsed = time.perf_counter() - began
    return {
        "path": path,
        "requests": len(payloads),
        "accepted": accepted,
        "seconds": round(elapsed, 3),
        "records_per_s": round(accepted / elapsed),
        "request_latency": summary_ms(latencies),
    }


def copy_rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows the server's COPY writes for these records, typed as it types them."""
    return [
        (
            r["class_id"],
            r["student_id"],
            bool(r["stuck"]),
            bool(r["got_it"]),
            bool(r["pause"]),
            bool(r["example"]),
            float(r["confidence"]),
            datetime.fromisoformat(r["timestamp"]),
        )
        for r in records
    ]


async def run_floor(
    args: argparse.Namespace, database_url: str, rows: list[list[tuple[Any, ...]]]
) -> dict[str, Any]:
    """The same batches COPYed straight into `metrics`, one connection per client."""
    queue: asyncio.Queue[list[tuple[Any, ...]]] = asyncio.Queue()
    for batch in rows:
        queue.put_nowait(batch)
    latencies: list[float] = []
    connections = [
        await asyncpg.connect(database_url, server_settings={"timezone": "UTC"})
        for _ in range(args.clients)
    ]
    try:

        async def copier(conn: asyncpg.Connection) -> None:
            while True:
                try:
                    batch = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                sent = time.perf_counter()
                await conn.copy_records_to_table("metrics", records=batch, columns=COPY_COLUMNS)
                latencies.append(time.perf_counter() - sent)

        began = time.perf_counter()
        await asyncio.gather(*(copier(conn) for conn in connections))
        elapsed = time.perf_counter() - began
    finally:
        for conn in connections:
            await conn.close()
    stored = sum(len(batch) for batch in rows)
    return {
        "path": "asyncpg copy_records_to_table into metrics (no membership, no rollups)",
        "requests": len(rows),
        "accepted": stored,
        "seconds": round(elapsed, 3),
        "records_per_s": round(stored / elapsed),
        "request_latency": summary_ms(latencies),
    }


def postgres_url(url: str) -> str:
    """A SQLAlchemy-style URL (`postgresql+asyncpg://`) as asyncpg takes it."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def versus_floor(results: dict[str, Any]) -> dict[str, Any]:
    floor = results.get("floor", {}).get("records_per_s")

    def ratio(name: str) -> float | None:
        rate = results.get(name, {}).get("records_per_s")
        return round(rate / floor, 3) if floor and rate is not None else None

    graphql = ratio("graphql")
    return {
        "rest_json": ratio("rest_json"),
        "graphql": graphql,
        "graphql_target": GRAPHQL_FLOOR_TARGET,
        "graphql_meets_target": None if graphql is None else graphql >= GRAPHQL_FLOOR_TARGET,
    }


async def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1_000)
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--event-ids", action="store_true", help="send an eventId with every record")
    p.add_argument(
        "--spread-seconds",
        type=float,
        default=7200,
        help="timestamps fall at random in this many seconds before now (default 7200)",
    )
    p.add_argument(
        "--paths",
        default="floor,rest_json,graphql",
        help="which paths to run (default all three: floor,rest_json,graphql)",
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the server's database, for the floor (default DATABASE_URL)",
    )
    args = p.parse_args()
    paths = args.paths.split(",")

    run = secrets.token_hex(3)
    results: dict[str, Any] = {}
    if "floor" in paths and args.database_url:
        class_id = f"bench-ingest-floor-{run}"
        progress(f"floor: building {args.records:,} rows for {class_id}")
        rows = [copy_rows(records) for records in batches(args, class_id)]
        progress(f"floor: copying {len(rows)} batches with {args.clients} connections")
        results["floor"] = await run_floor(args, postgres_url(args.database_url), rows)
        results["floor"]["class_id"] = class_id
        progress(f"floor: {results['floor']['records_per_s']:,} records/s")
    elif "floor" in paths:
        progress("floor: skipped (no --database-url and no DATABASE_URL)")
    for name, path, graphql, accepted_of in (
        ("rest_json", "/ingest/json", False, rest_accepted),
        ("graphql", "/graphql", True, graphql_accepted),
    ):
        if name not in paths:
            continue
        class_id = f"bench-ingest-{name}-{run}"
        progress(f"{name}: building {args.records:,} records for {class_id}")
        payloads = bodies(args, class_id, graphql)
        progress(f"{name}: sending {len(payloads)} requests with {args.clients} clients")
        results[name] = await run_path(args, path, payloads, accepted_of)
        results[name]["class_id"] = class_id
        results[name]["target_records_per_s"] = TARGETS[name]
        results[name]["meets_target"] = results[name]["records_per_s"] >= TARGETS[name]
        progress(f"{name}: {results[name]['records_per_s']:,} records/s")
    emit(
        {
            "bench": "ingest",
            "url": args.url,
            "records": args.records,
            "batch": args.batch,
            "clients": args.clients,
            "event_ids": args.event_ids,
            "spread_seconds": args.spread_seconds,
            **results,
            "vs_floor": versus_floor(results),
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
