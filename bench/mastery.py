"""Mastery latency at 10k, 100k and 1M records per class, whole history and a range
whose edges fall mid-hour.

    python bench/mastery.py --url http://127.0.0.1:8000 --api-key devkey [--queries 200]
        [--skip-load] [--sizes 10000,100000,1000000]

Classes `bench-m-10k`, `bench-m-100k` and `bench-m-1m` (about 30 students, timestamps
over the last 14 days) are loaded through POST /ingest/json unless they already hold
their records; `--skip-load` never loads. One client (common.py's bare keep-alive
connection, so that the client's own cost stays small) sends the queries one after
another, so each latency is one full HTTP round trip: the GraphQL query, and the REST
route `GET /mastery/{class_id}` over the whole history.

Targets: p50 at 1M <= 10 ms and <= 2x p50 at 10k (both ranges); at 1M, the whole
history's `class { mastery }` p50 <= 2.5 ms and `GET /mastery/{id}` p50 <= 1.2 ms.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from common import (
    MASTERY_CLASSES,
    AsyncKeepAlive,
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
GRAPHQL_P50_MS = 2.5
REST_P50_MS = 1.2
WARMUP = 20


def mid_hour_range(now: datetime) -> tuple[str, str]:
    """About 12 days of the 14, both edges in the middle of an hour."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    start = hour - timedelta(days=12, hours=5) + timedelta(minutes=23, seconds=17)
    end = hour - timedelta(hours=7) + timedelta(minutes=41, seconds=5, microseconds=250_000)
    return iso(start), iso(end)


async def measure(
    connection: AsyncKeepAlive, query: str | None, variables: dict[str, Any], count: int
) -> tuple[list[float], dict[str, Any]]:
    """Latencies of `count` requests after a warm-up: the GraphQL `query`, or with None
    the REST route GET /mastery/{variables["id"]}; the last answer's data."""
    body = orjson.dumps({"query": query, "variables": variables})
    path = "/mastery/" + urllib.parse.quote(variables.get("id", ""), safe="")
    latencies: list[float] = []
    last: dict[str, Any] = {}
    for number in range(WARMUP + count):
        began = time.perf_counter()
        if query is None:
            status, content = await connection.get(path)
        else:
            status, content = await connection.post("/graphql", body)
        elapsed = time.perf_counter() - began
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {content[:300]!r}")
        last = orjson.loads(content)
        if query is not None and last.get("errors"):
            raise RuntimeError(f"GraphQL errors: {last['errors'][:3]}")
        if number >= WARMUP:
            latencies.append(elapsed)
    return latencies, last if query is None else last.get("data") or {}


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
    connection = AsyncKeepAlive(args)
    async with async_client(args, connections=1) as client:
        baseline, _ = await measure(connection, TRIVIAL, {}, args.queries)
        for size in sizes:
            class_id = MASTERY_CLASSES[size]
            stored = await population(client, class_id)
            if stored == 0:
                raise SystemExit(f"{class_id} holds no records: run without --skip-load first")
            progress(f"{class_id}: {stored:,} records, {args.queries} queries each")
            whole, data = await measure(connection, QUERY, {"id": class_id}, args.queries)
            ranged, ranged_data = await measure(
                connection, QUERY, {"id": class_id, "from": start, "to": end}, args.queries
            )
            rest, rest_data = await measure(connection, None, {"id": class_id}, args.queries)
            if rest_data.get("population") != data["class"]["mastery"]["population"]:
                raise RuntimeError(f"/mastery/{class_id} disagrees: {rest_data}")
            results[class_id] = {
                "size": size,
                "population": stored,
                "whole_history": summary_ms(whole),
                "mid_hour_range": summary_ms(ranged),
                "rest_whole_history": summary_ms(rest),
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
                    "rest_whole_history": results[c]["rest_whole_history"]["p50_ms"],
                }
                for c in results
            },
            "ratio_p50_1m_over_10k": {
                "whole_history": ratio("whole_history"),
                "mid_hour_range": ratio("mid_hour_range"),
            },
            "target": "p50 at 1M <= 10 ms and <= 2x p50 at 10k; at 1M whole history"
            f" p50 <= {GRAPHQL_P50_MS} ms (GraphQL), <= {REST_P50_MS} ms (REST)",
            "meets_target": None
            if largest is None
            else all(
                largest[kind]["p50_ms"] <= 10 and (ratio(kind) or 0) <= 2
                for kind in ("whole_history", "mid_hour_range")
            )
            and largest["whole_history"]["p50_ms"] <= GRAPHQL_P50_MS
            and largest["rest_whole_history"]["p50_ms"] <= REST_P50_MS,
            "loads": loads,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
