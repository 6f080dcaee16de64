"""Ingest throughput: N records in requests of B through POST /ingest/json and through the
GraphQL ingestMetrics mutation, each client sending its requests one after another.

    python bench/ingest.py --url http://127.0.0.1:8000 --api-key devkey [--records 100000]
        [--batch 1000] [--clients 4] [--event-ids] [--spread-seconds 7200]
        [--paths rest_json,graphql]

Request bodies are built and serialised before the clock starts, so the figure is the
server's (plus the HTTP round trips), not this script's JSON encoding.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from common import async_client, emit, parser, progress, seed_records, summary_ms

INGEST = """
mutation Ingest($records: [MetricInput!]!) {
  ingestMetrics(records: $records) { accepted duplicates rejected { index field message } }
}
"""
TARGETS = {"rest_json": 80_000, "graphql": 30_000}


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


def bodies(args: argparse.Namespace, class_id: str, graphql: bool) -> list[bytes]:
    # Timestamps over the last --spread-seconds (2 hours by default): a live class, a
    # handful of rollup buckets, index insertions spread over that window.
    end = datetime.now(UTC) - timedelta(seconds=30)
    out = []
    for offset in range(0, args.records, args.batch):
        count = min(args.batch, args.records - offset)
        records = seed_records(
            class_id,
            count,
            start=offset,
            end=end,
            spread=timedelta(seconds=args.spread_seconds),
            event_ids=args.event_ids,
        )
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
    p.add_argument("--paths", default="rest_json,graphql", help="which paths to run (default both)")
    args = p.parse_args()

    run = secrets.token_hex(3)
    results: dict[str, Any] = {}
    for name, path, graphql, accepted_of in (
        ("rest_json", "/ingest/json", False, rest_accepted),
        ("graphql", "/graphql", True, graphql_accepted),
    ):
        if name not in args.paths.split(","):
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
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
