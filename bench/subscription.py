"""classMastery push latency: from the ingest's HTTP response to the subscriber's `next`.

    python bench/subscription.py --url http://127.0.0.1:8000 --api-key devkey [--rounds 200]
        [--class-id bench-m-1m]

A class (a fresh one unless --class-id names one) is subscribed to over
graphql-transport-ws; then, one at a time, a single record is posted to /ingest/json.
Each record raises the class's population by one, so the `next` whose population is
initial + N answers ingest N (nobody else may write to the class meanwhile). The delay is (arrival of that `next`)
- (arrival of the HTTP response); it is negative when the push overtakes the response,
and such values are kept as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from typing import Any

import orjson
from common import async_client, emit, parser, progress, seed_records, summary_ms
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

SUBSCRIBE = "subscription($c: ID!) { classMastery(classId: $c) { population lastTimestamp } }"
WAIT_FOR_PUSH = 5.0
TARGET_P95_MS = 50


def ws_url(http_url: str) -> str:
    return (
        http_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/")
        + "/graphql"
    )


async def subscribe(ws: ClientConnection, api_key: str, class_id: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": api_key}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if ack["type"] != "connection_ack":
        raise SystemExit(f"connection refused: {ack}")
    await ws.send(
        json.dumps(
            {
                "id": "bench",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"c": class_id}},
            }
        )
    )
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if first["type"] != "next" or first["payload"].get("errors"):
        raise SystemExit(f"subscription refused: {first}")
    return first["payload"]["data"]["classMastery"]


async def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument(
        "--class-id",
        default=None,
        help="subscribe to this class (e.g. bench-m-1m, so each update re-reads a large "
        "class); default: a fresh, empty class",
    )
    args = p.parse_args()

    class_id = args.class_id or f"bench-sub-{secrets.token_hex(4)}"
    arrivals: dict[int, float] = {}
    arrived = asyncio.Condition()
    async with (
        connect(ws_url(args.url), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
        async_client(args, connections=1) as client,
    ):
        # Ingest N (1-based) makes the population base + N: that is how a `next` is matched.
        base = (await subscribe(ws, args.api_key, class_id))["population"]

        async def listen() -> None:
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    async with arrived:
                        population = message["payload"]["data"]["classMastery"]["population"]
                        arrivals[population - base] = now
                        arrived.notify_all()

        listener = asyncio.create_task(listen())
        # Warm the HTTP connection on another class, so round 1 is not a TCP handshake.
        await client.get("/healthz")

        responded: dict[int, float] = {}
        ingest_latency: list[float] = []
        lost = 0
        progress(f"{class_id}: {args.rounds} ingests of one record")
        try:
            for number in range(1, args.rounds + 1):
                body = orjson.dumps(seed_records(class_id, 1, start=number))
                sent = time.perf_counter()
                response = await client.post(
                    "/ingest/json", content=body, headers={"Content-Type": "application/json"}
                )
                responded[number] = time.perf_counter()
                ingest_latency.append(responded[number] - sent)
                if response.status_code != 200 or response.json()["rows_ok"] != 1:
                    raise SystemExit(f"ingest failed: {response.status_code} {response.text}")
                async with arrived:
                    try:
                        await asyncio.wait_for(
                            arrived.wait_for(lambda n=number: n in arrivals), WAIT_FOR_PUSH
                        )
                    except TimeoutError:
                        lost += 1
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    delays = [arrivals[n] - responded[n] for n in responded if n in arrivals]
    summary = summary_ms(delays)
    emit(
        {
            "bench": "subscription",
            "url": args.url,
            "class_id": class_id,
            "initial_population": base,
            "rounds": args.rounds,
            "received": len(delays),
            "lost": lost,
            "push_before_response": sum(1 for d in delays if d < 0),
            "delay_after_response": summary,
            "ingest_request": summary_ms(ingest_latency),
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": summary["p95_ms"] is not None
            and summary["p95_ms"] <= TARGET_P95_MS
            and lost == 0,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
