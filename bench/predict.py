"""Batch prediction latency end to end through GraphQL: 100 students per request,
uncached (fresh features every time) and fully cached (the same batch again).

    python bench/predict.py --url http://127.0.0.1:8000 --api-key devkey [--rounds 200]

Targets: p50 <= 15 ms uncached, <= 5 ms fully cached. Requests go over one keep-alive
connection of the standard library's http.client, so the times are the server's plus the
loopback, not a client library's own work. Each round also times `{ __typename }`
(`baseline`): what any request costs on this machine at the moment, HTTP client included,
since the speed of a shared two-core machine drifts from one minute to the next (see
also `cpu_steal_pct`).
"""

from __future__ import annotations

import random
import time

import orjson
from common import KeepAliveClient, emit, feature_rows, parser, summary_ms

PREDICT = """
mutation($s: [StudentFeaturesInput!]!) { predictScores(students: $s) {
  totalProcessed cacheHits processingTimeMs predictions { predictedScore persona cached } } }
"""


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--size", type=int, default=100)
    args = p.parse_args()
    rng = random.Random(11)
    timings: dict[str, list[float]] = {"uncached": [], "cached": [], "baseline": []}
    trivial = orjson.dumps({"query": "{ __typename }"})
    hits = {"uncached": 0, "cached": 0}
    with KeepAliveClient(args) as client:
        client.post(
            "/graphql", orjson.dumps({"query": PREDICT, "variables": {"s": feature_rows(rng, 1)}})
        )
        for _ in range(args.rounds):
            body = orjson.dumps(
                {"query": PREDICT, "variables": {"s": feature_rows(rng, args.size)}}
            )
            for case in ("uncached", "cached"):
                began = time.perf_counter()
                status, content = client.post("/graphql", body)
                timings[case].append(time.perf_counter() - began)
                answer = orjson.loads(content)
                if status != 200 or answer.get("errors"):
                    raise SystemExit(f"HTTP {status}: {content[:300]!r}")
                hits[case] += answer["data"]["predictScores"]["cacheHits"]
            began = time.perf_counter()
            client.post("/graphql", trivial)
            timings["baseline"].append(time.perf_counter() - began)
    result = {
        "bench": "predict",
        "url": args.url,
        "batch": args.size,
        "rounds": args.rounds,
        "uncached": {**summary_ms(timings["uncached"]), "cache_hits": hits["uncached"]},
        "cached": {**summary_ms(timings["cached"]), "cache_hits": hits["cached"]},
        "baseline": summary_ms(timings["baseline"]),
        "targets_ms": {"uncached_p50": 15, "cached_p50": 5},
    }
    result["meets_target"] = result["uncached"]["p50_ms"] <= 15 and result["cached"]["p50_ms"] <= 5
    emit(result)


if __name__ == "__main__":
    main()
