"""Mastery latency at 10k, 100k and 1M records per class, whole history and a range
whose edges fall mid-hour.

    python bench/mastery.py --url http://127.0.0.1:8000 --api-key devkey [--queries 200]
        [--skip-load] [--sizes 10000,100000,1000000]

Classes `bench-m-10k`, `bench-m-100k` and `bench-m-1m` (about 30 students, timestamps
over the last 14 days) are loaded through POST /ingest/json unless they already hold
their records; `--skip-load` never loads. One client sends the queries one after
another, so each latency is one full HTTP round trip of the GraphQL query.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from common import (
    MASTERY_CLASSES,
    async_client,
    emit,
    iso,
    load_class,
    parser,
    population,
    progress,
    summary_ms,
)

QUERY = """
query Mastery($id: ID!, $from: DateTime, $to: DateTime) {
  class(id: $id) { mastery(from: $from, to: $to) { population rateStuck avgConfidence students } }
}
"""
TRIVIAL = "{ __typename }"
WARMUP = 20


def mid_hour_range(now: datetime) -> tuple[str, str]:
    """About 12 days of the 14, both edges in the middle of an hour."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    start = hour - timedelta(days=12, hours=5) + timedelta(minutes=23, seconds=17)
    end = hour - timedelta(hours=7) + timedelta(minutes=41, seconds=5, microseconds=250_000)
    return iso(start), iso(end)


async def measure(
    client: Any, query: str, variables: dict[str, Any], count: int
) -> tuple[list[float], dict[str, Any]]:
    body = {"query": query, "variables": variables}
    latencies: list[float] = []
    last: dict[str, Any] = {}
    for number in range(WARMUP + count):
        began = time.perf_counter()
        response = await client.post("/graphql", json=body)
        elapsed = time.perf_counter() - began
        response.raise_for_status()
        last = response.json()
        if last.get("errors"):
            raise RuntimeError(f"GraphQL errors: {last['errors'][:3]}")
        if number >= WARMUP:
            latencies.append(elapsed)
    return latencies, last.get("data") or {}


async def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--skip-load", action="store_true", help="reuse the classes as they are")
    p.add_argument(
        "--sizes",
        default=",".join(str(size) for size in MASTERY_CLASSES),
        help="comma-separated subset of 10000,100000,1000000",
    )
    args = p.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    unknown = [size for size in sizes if size not in MASTERY_CLASSES]
    if unknown:
        p.error(f"unknown sizes {unknown}; choose among {list(MASTERY_CLASSES)}")

    loads = []
    if not args.skip_load:
        for size in sizes:
            loads.append(await load_class(args, MASTERY_CLASSES[size], size))

    start, end = mid_hour_range(datetime.now(UTC))
    results: dict[str, Any] = {}
    async with async_client(args, connections=1) as client:
        baseline, _ = await measure(client, TRIVIAL, {}, args.queries)
        for size in sizes:
            class_id = MASTERY_CLASSES[size]
            stored = await population(client, class_id)
            if stored == 0:
                raise SystemExit(f"{class_id} holds no records: run without --skip-load first")
            progress(f"{class_id}: {stored:,} records, {args.queries} queries each")
            whole, data = await measure(client, QUERY, {"id": class_id}, args.queries)
            ranged, ranged_data = await measure(
                client, QUERY, {"id": class_id, "from": start, "to": end}, args.queries
            )
            results[class_id] = {
                "size": size,
                "population": stored,
                "whole_history": summary_ms(whole),
                "mid_hour_range": summary_ms(ranged),
                "range_population": ranged_data["class"]["mastery"]["population"],
                "mastery": data["class"]["mastery"],
            }

    def ratio(kind: str) -> float | None:
        small = results.get(MASTERY_CLASSES[10_000])
        large = results.get(MASTERY_CLASSES[1_000_000])
        if not small or not large:
            return None
        return round(large[kind]["p50_ms"] / small[kind]["p50_ms"], 3)

    largest = results.get(MASTERY_CLASSES[1_000_000])
    emit(
        {
            "bench": "mastery",
            "url": args.url,
            "queries_per_case": args.queries,
            "range": {"from": start, "to": end},
            "trivial_query_baseline": summary_ms(baseline),
            "classes": results,
            "p50_ms": {
                str(results[c]["size"]): {
                    "whole_history": results[c]["whole_history"]["p50_ms"],
                    "mid_hour_range": results[c]["mid_hour_range"]["p50_ms"],
                }
                for c in results
            },
            "ratio_p50_1m_over_10k": {
                "whole_history": ratio("whole_history"),
                "mid_hour_range": ratio("mid_hour_range"),
            },
            "target": "p50 at 1M <= 10 ms and <= 2x p50 at 10k",
            "meets_target": None
            if largest is None
            else all(
                largest[kind]["p50_ms"] <= 10 and (ratio(kind) or 0) <= 2
                for kind in ("whole_history", "mid_hour_range")
            ),
            "loads": loads,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
