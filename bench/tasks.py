"""Background tasks: fallback quiz throughput, and completion-to-subscriber latency.

    python bench/tasks.py --url http://127.0.0.1:8000 --api-key devkey [--tasks 300]
        [--clients 4] [--rounds 100] [--question-count 5]

Run it against `learntwin serve` (one in-process worker) with no OPENAI_API_KEY, so every
quiz comes from the deterministic fallback.

Throughput: `--tasks` generateQuiz mutations are sent by `--clients` concurrent clients;
the tasks are then polled (aliased `task(id)` fields, a batch per request) until all are
finished. Completed tasks per second = tasks / (last `finishedAt` - first enqueue).

Latency: one graphql-transport-ws connection; `--rounds` times, one after another, a quiz
is generated over HTTP and its `task(id)` subscribed to at once. The delay is (arrival of
the SUCCEEDED `next`) - (the task's `finishedAt`), both on this machine's clock.
`finishedAt` is Postgres's `now()` in the worker's committing transaction, i.e. that
transaction's start, so the delay also holds the rest of that transaction (storing the
quiz, the commit). A task already finished when its subscription starts (its first
`next` is SUCCEEDED) measures no push and is counted apart.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import httpx
from common import async_client, chunks, emit, parser, progress, summary_ms
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

GENERATE = "mutation($i: GenerateQuizInput!) { generateQuiz(input: $i) { id status createdAt } }"
SUBSCRIBE = "subscription($id: ID!) { task(id: $id) { id status error finishedAt } }"
POLL_BATCH = 25  # below the server's default alias limit (30)
POLL_PAUSE = 0.25
FINISH_WITHIN = 300.0
TARGET_PER_SECOND = 50
TARGET_P95_MS = 100
TOPICS = ["python", "sql", "statistics", "machine learning", "algebra", "volcanoes", "jazz"]


def ws_url(http_url: str) -> str:
    return (
        http_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1).rstrip("/")
        + "/graphql"
    )


def instant(value: str) -> float:
    """A GraphQL DateTime (ISO 8601 with offset) as POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    if response.status_code != 200:
        raise SystemExit(f"GraphQL HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    if body.get("errors"):
        raise SystemExit(f"GraphQL errors: {body['errors'][:2]}")
    return body["data"]


async def generate(client: httpx.AsyncClient, number: int, count: int) -> dict[str, Any]:
    topic = f"{TOPICS[number % len(TOPICS)]} {number}"
    data = await graphql(client, GENERATE, {"i": {"topic": topic, "questionCount": count}})
    return data["generateQuiz"]


async def poll(client: httpx.AsyncClient, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The state of every task in `ids`, one aliased request per batch."""
    states: dict[str, dict[str, Any]] = {}

    async def batch(part: list[str]) -> None:
        fields = " ".join(
            f"t{n}: task(id: {json.dumps(task_id)}) {{ id status error finishedAt }}"
            for n, task_id in enumerate(part)
        )
        data = await graphql(client, f"{{ {fields} }}")
        for task in data.values():
            states[task["id"]] = task

    await asyncio.gather(*(batch(list(part)) for part in chunks(ids, POLL_BATCH)))
    return states


async def wait_all(client: httpx.AsyncClient, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Poll until every task is SUCCEEDED or FAILED; their final states."""
    done: dict[str, dict[str, Any]] = {}
    began = time.perf_counter()
    last_report = began
    while len(done) < len(ids):
        pending = [task_id for task_id in ids if task_id not in done]
        for task_id, task in (await poll(client, pending)).items():
            if task["status"] in ("SUCCEEDED", "FAILED"):
                done[task_id] = task
        now = time.perf_counter()
        if now - began > FINISH_WITHIN:
            raise SystemExit(f"{len(ids) - len(done)} tasks unfinished after {FINISH_WITHIN} s")
        if now - last_report > 2:
            last_report = now
            progress(f"{len(done)}/{len(ids)} finished")
        if len(done) < len(ids):
            await asyncio.sleep(POLL_PAUSE)
    return done


async def throughput(args: Any) -> dict[str, Any]:
    async with async_client(args, connections=args.clients) as client:
        # Warm-up, not counted: connections, caches, the worker's first jobs.
        warm = [await generate(client, -n, args.question_count) for n in range(1, 6)]
        await wait_all(client, [task["id"] for task in warm])

        numbers: asyncio.Queue[int] = asyncio.Queue()
        for number in range(args.tasks):
            numbers.put_nowait(number)
        created: list[dict[str, Any]] = []

        async def sender() -> None:
            while True:
                try:
                    number = numbers.get_nowait()
                except asyncio.QueueEmpty:
                    return
                created.append(await generate(client, number, args.question_count))

        progress(f"enqueueing {args.tasks} quizzes with {args.clients} clients")
        first_enqueue = time.time()
        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(args.clients)))
        enqueue_seconds = time.perf_counter() - began
        done = await wait_all(client, [task["id"] for task in created])
        observed_seconds = time.perf_counter() - began

        # The sources of a sample, to confirm the fallback was used.
        sample = [t["id"] for t in created[:POLL_BATCH]]
        fields = " ".join(
            f"t{n}: task(id: {json.dumps(i)}) {{ result {{ ... on Quiz {{ source }} }} }}"
            for n, i in enumerate(sample)
        )
        sources = sorted(
            {
                (task["result"] or {}).get("source", "none")
                for task in (await graphql(client, f"{{ {fields} }}")).values()
            }
        )

    succeeded = [t for t in done.values() if t["status"] == "SUCCEEDED"]
    failed = [t for t in done.values() if t["status"] == "FAILED"]
    last_finish = max(instant(t["finishedAt"]) for t in done.values())
    span = last_finish - first_enqueue
    created_at = {t["id"]: instant(t["createdAt"]) for t in created}
    per_second = len(succeeded) / span if span > 0 else None
    return {
        "tasks": args.tasks,
        "clients": args.clients,
        "question_count": args.question_count,
        "succeeded": len(succeeded),
        "failed": len(failed),
        "errors": sorted({t["error"] for t in failed})[:3],
        "sample_sources": sources,
        "enqueue_seconds": round(enqueue_seconds, 3),
        "enqueued_per_second": round(args.tasks / enqueue_seconds, 1),
        "first_enqueue_to_last_finish_seconds": round(span, 3),
        "completed_per_second": round(per_second, 1) if per_second else None,
        "observed_by_polling_seconds": round(observed_seconds, 3),
        "created_to_finished": summary_ms(
            [instant(t["finishedAt"]) - created_at[t["id"]] for t in done.values()]
        ),
        "target_per_second": TARGET_PER_SECOND,
        "meets_target": per_second is not None and per_second >= TARGET_PER_SECOND and not failed,
    }


async def receive(ws: ClientConnection, within: float = 30.0) -> tuple[dict[str, Any], float]:
    """The next protocol message other than ping/pong, and its arrival (POSIX seconds)."""
    while True:
        raw = await asyncio.wait_for(ws.recv(), within)
        arrived = time.time()
        message = json.loads(raw)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        if message["type"] != "pong":
            return message, arrived


async def latency(args: Any) -> dict[str, Any]:
    delays: list[float] = []
    already_finished = 0
    failed = 0
    async with (
        connect(ws_url(args.url), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
        async_client(args, connections=1) as client,
    ):
        await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": args.api_key}}))
        ack, _ = await receive(ws, 10)
        if ack["type"] != "connection_ack":
            raise SystemExit(f"connection refused: {ack}")
        progress(f"{args.rounds} tasks, one at a time, each watched by a subscription")
        for number in range(args.rounds):
            task = await generate(client, 10_000 + number, args.question_count)
            sub = f"s{number}"
            await ws.send(
                json.dumps(
                    {
                        "id": sub,
                        "type": "subscribe",
                        "payload": {"query": SUBSCRIBE, "variables": {"id": task["id"]}},
                    }
                )
            )
            first = True
            while True:
                message, arrived = await receive(ws)
                if message.get("id") != sub:
                    continue
                if message["type"] == "complete":
                    break
                if message["type"] != "next" or message["payload"].get("errors"):
                    raise SystemExit(f"subscription failed: {message}")
                state = message["payload"]["data"]["task"]
                if state["status"] == "FAILED":
                    failed += 1
                elif state["status"] == "SUCCEEDED":
                    if first:
                        already_finished += 1
                    else:
                        delays.append(arrived - instant(state["finishedAt"]))
                first = False
    summary = summary_ms(delays)
    return {
        "rounds": args.rounds,
        "pushed": len(delays),
        "already_finished_at_subscribe": already_finished,
        "failed": failed,
        "finished_to_subscriber": summary,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": summary["p95_ms"] is not None
        and summary["p95_ms"] <= TARGET_P95_MS
        and not failed,
    }


async def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=300, help="tasks for the throughput run")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients enqueueing")
    p.add_argument("--rounds", type=int, default=100, help="tasks for the latency run")
    p.add_argument("--question-count", type=int, default=5)
    args = p.parse_args()

    result_throughput = await throughput(args)
    progress(f"throughput: {result_throughput['completed_per_second']} tasks/s")
    result_latency = await latency(args)
    progress(f"latency p95: {result_latency['finished_to_subscriber']['p95_ms']} ms")
    emit(
        {
            "bench": "tasks",
            "url": args.url,
            "throughput": result_throughput,
            "latency": result_latency,
        }
    )


if __name__ == "__main__":
    asyncio.run(main())
