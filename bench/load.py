"""Closed-loop mixed load: requests/s, latency percentiles and server memory at 1, 16
and 200 concurrent clients.

    python bench/load.py --url http://127.0.0.1:8000 --api-key devkey --pid PID
        [--clients 1,16,200] [--duration 60] [--warmup 3] [--skip-load]
        [--database-url postgresql://postgres@127.0.0.1:5432/DB] [--solo-seconds 0]
        [--mix mastery_recommendations=30,students_mastery=30,ingest=20,predict_cached=20]

Each client sends one request, waits for the whole answer, and sends the next, with the
operation drawn at random: 30 % class mastery with recommendations, 30 % a students page
with each student's mastery, 20 % an ingestMetrics of 100 records, 20 % a predictScores
batch whose features are all in the prediction cache. An error is an HTTP status other
than 200, a GraphQL `errors` entry, a refused record, a cache miss in the cached batch,
or a failed connection; each is counted per operation (warm-up included), with samples.
`--mix ingest=1` loads (or, under py-spy, profiles) one operation alone.

Fixture first: --classes classes of 30 students with --records-per-class metrics over
the last 14 days, through POST /ingest/json (idempotent: rerunning loads only what is
missing), then ANALYZE when --database-url (or DATABASE_URL) names the server's database,
then the cached batches predicted once. Requests/s counts the answers that arrive within
the measured window (after --warmup); latencies are those of the requests sent in it.

The client is bare asyncio (uvloop when installed) on HTTP/1.1 keep-alive connections
with every request body encoded beforehand; `client_check` gives its cost on
`{ __typename }` and every run gives the CPU this process and the server (PID) used, so
one can see which side ran out of CPU. On a shared machine `server_cores` and
`machine_busy_pct` say more than `steal_pct`: other tenants' processes inside the same VM
take CPU without it counting as steal. PID is the uvicorn process (`pgrep -f "learntwin
serve"`); its VmRSS is sampled every 100 ms (growth = peak - start of the runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from common import (
    STUDENTS,
    AsyncKeepAlive,
    RssWatch,
    StolenTime,
    database_backends_cpu,
    emit,
    feature_rows,
    find_server_pid,
    load_class,
    parser,
    process_cpu_seconds,
    progress,
    summary_ms,
)

MASTERY_FIELDS = "population students rateStuck rateGotIt ratePause rateExample avgConfidence"
MASTERY_RECOMMENDATIONS = f"""
query MasteryRecommendations($id: ID!) {{ class(id: $id) {{
  mastery {{ {MASTERY_FIELDS} lastTimestamp }}
  recommendations {{ action priority title rationale }} }} }}
"""
STUDENTS_PAGE = f"""
query StudentsPage($id: ID!, $first: Int!) {{ class(id: $id) {{
  students(first: $first) {{ edges {{ node {{ id mastery {{ {MASTERY_FIELDS} }} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }} }}
"""
INGEST = """
mutation Ingest($records: [MetricInput!]!) {
  ingestMetrics(records: $records) { accepted duplicates rejected { index field message } }
}
"""
PREDICT = """
mutation Predict($s: [StudentFeaturesInput!]!) { predictScores(students: $s) {
  totalProcessed cacheHits predictions { predictedScore persona cached } } }
"""
TRIVIAL = orjson.dumps({"query": "{ __typename }"})
MIX = {"mastery_recommendations": 30, "students_mastery": 30, "ingest": 20, "predict_cached": 20}
TARGETS = {"requests_per_s_at_16": 400, "p99_ms_at_200": 1000, "rss_growth_mb": 100}
SAMPLES_KEPT = 5


@dataclass
class Operation:
    name: str
    bodies: list[bytes]
    check: Callable[[dict[str, Any]], str | None]  # a complaint about a 200 answer, or None


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    completed: int = 0  # answers (errors included) that arrived within the window
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.errors += 1
        if len(self.samples) < SAMPLES_KEPT:
            self.samples.append(message[:400])


def graphql_errors(answer: dict[str, Any]) -> str | None:
    return f"GraphQL errors: {answer['errors'][:2]}" if answer.get("errors") else None


def check_ingest(answer: dict[str, Any]) -> str | None:
    payload = answer["data"]["ingestMetrics"]
    if payload["rejected"]:
        return f"records refused: {payload['rejected'][:2]}"
    return None


def check_predict(size: int) -> Callable[[dict[str, Any]], str | None]:
    def check(answer: dict[str, Any]) -> str | None:
        hits = answer["data"]["predictScores"]["cacheHits"]
        return None if hits == size else f"cached batch: {hits}/{size} cache hits"

    return check


def ingest_records(rng: random.Random, class_id: str, count: int) -> list[dict[str, Any]]:
    # No timestamp: the server stamps the time of ingest, as for a live class, so the
    # same bodies stay current however long the bench runs.
    return [
        {
            "classId": class_id,
            "studentId": f"st-{rng.randrange(STUDENTS):03d}",
            "stuck": rng.random() < 0.3,
            "gotIt": rng.random() < 0.6,
            "pause": rng.random() < 0.2,
            "example": rng.random() < 0.4,
            "confidence": rng.randint(1, 10),
        }
        for _ in range(count)
    ]


def operations(args: argparse.Namespace, classes: list[str]) -> dict[str, Operation]:
    """Every request body, encoded once, so the clock measures the server."""
    rng = random.Random(7)

    def gql(query: str, variables: dict[str, Any]) -> bytes:
        return orjson.dumps({"query": query, "variables": variables})

    return {
        "mastery_recommendations": Operation(
            "mastery_recommendations",
            [gql(MASTERY_RECOMMENDATIONS, {"id": c}) for c in classes],
            lambda answer: None,
        ),
        "students_mastery": Operation(
            "students_mastery",
            [gql(STUDENTS_PAGE, {"id": c, "first": args.page}) for c in classes],
            lambda answer: None,
        ),
        "ingest": Operation(
            "ingest",
            [
                gql(INGEST, {"records": ingest_records(rng, c, args.ingest_records)})
                for c in classes
                for _ in range(16)
            ],
            check_ingest,
        ),
        "predict_cached": Operation(
            "predict_cached",
            [gql(PREDICT, {"s": feature_rows(rng, args.predict_batch)}) for _ in range(16)],
            check_predict(args.predict_batch),
        ),
    }


async def call(
    connection: AsyncKeepAlive, body: bytes, give_up_after: float
) -> tuple[dict[str, Any] | None, str | None]:
    """The answer of one POST /graphql, or why there is none."""
    try:
        async with asyncio.timeout(give_up_after):
            status, content = await connection.post("/graphql", body)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
        connection.close()  # the next request opens a fresh connection
        return None, f"{type(e).__name__}: {e}"
    if status != 200:
        return None, f"HTTP {status}: {content[:300]!r}"
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None, f"not JSON: {content[:300]!r}"
    return answer, graphql_errors(answer)


async def warm_cache(args: argparse.Namespace, predict: Operation) -> None:
    """Predict every cached batch once, so the load only ever reads the cache."""
    connection = AsyncKeepAlive(args)
    try:
        for body in predict.bodies:
            answer, problem = await call(connection, body, args.timeout)
            if problem or answer is None:
                raise SystemExit(f"warming the prediction cache: {problem}")
            answer, problem = await call(connection, body, args.timeout)
            problem = problem or (predict.check(answer) if answer else "no answer")
            if problem:
                raise SystemExit(f"prediction cache not warm: {problem}")
    finally:
        connection.close()


async def run(
    args: argparse.Namespace,
    mix: dict[str, Operation],
    weights: dict[str, int],
    clients: int,
    seconds: float,
    pid: int | None,
) -> dict[str, Any]:
    """`clients` closed loops for --warmup then `seconds` measured seconds."""
    names = list(weights)
    cumulative: list[int] = []
    for name in names:
        cumulative.append((cumulative[-1] if cumulative else 0) + weights[name])
    tallies = {name: Tally() for name in names}
    connections = [AsyncKeepAlive(args) for _ in range(clients)]
    await asyncio.gather(*(c.connect() for c in connections))
    loop = time.perf_counter
    began = loop() + args.warmup
    ends = began + seconds

    async def client(number: int, connection: AsyncKeepAlive) -> None:
        rng = random.Random(f"{clients}:{number}")
        while (sent := loop()) < ends:
            name = rng.choices(names, cum_weights=cumulative)[0]
            operation = mix[name]
            answer, problem = await call(connection, rng.choice(operation.bodies), args.timeout)
            done = loop()
            tally = tallies[name]
            if problem is None and answer is not None:
                problem = operation.check(answer)
            if problem is not None:
                tally.fail(problem)  # in the warm-up too: every error counts
            elif sent >= began:
                tally.latencies.append(done - sent)
            # Throughput counts answers arriving in the window, whenever they were sent:
            # at 200 clients a request may take seconds, and counting only those sent in
            # the window would miss the first seconds' worth.
            if began <= done <= ends:
                tally.completed += 1

    tasks = [asyncio.create_task(client(n, c)) for n, c in enumerate(connections)]
    await asyncio.sleep(max(0.0, began - loop()))
    with RssWatch(pid) as memory:
        # Counters from the start of the measured window, not of the warm-up.
        stolen = StolenTime()
        cpu_client = time.process_time()
        cpu_server = process_cpu_seconds(pid) if pid else None
        cpu_database = database_backends_cpu(args.database) if args.database else None
        await asyncio.sleep(max(0.0, ends - loop()))
        client_cpu = time.process_time() - cpu_client
        # Backends that closed during the run are missing: a lower bound.
        database_cpu = (
            None
            if cpu_database is None
            else sum(
                spent - cpu_database.get(backend, 0.0)
                for backend, spent in database_backends_cpu(args.database).items()
            )
        )
        server_cpu = (
            None if pid is None or cpu_server is None else process_cpu_seconds(pid) - cpu_server
        )
        steal, busy = stolen.percent(), stolen.busy_percent()
        await asyncio.gather(*tasks)
    for connection in connections:
        connection.close()

    completed = sum(t.completed for t in tallies.values())
    latencies = [s for t in tallies.values() for s in t.latencies]
    errors = sum(t.errors for t in tallies.values())
    return {
        "clients": clients,
        "seconds": seconds,
        "requests": completed,
        "requests_per_s": round(completed / seconds, 1),
        "errors": errors,
        "latency": summary_ms(latencies),
        "operations": {
            name: {
                "requests": t.completed,
                "requests_per_s": round(t.completed / seconds, 1),
                "errors": t.errors,
                "latency": summary_ms(t.latencies),
                **({"error_samples": t.samples} if t.samples else {}),
            }
            for name, t in tallies.items()
        },
        "cpu": {
            "server_cores": None if server_cpu is None else round(server_cpu / seconds, 2),
            "server_ms_per_request": None
            if server_cpu is None or not completed
            else round(1000 * server_cpu / completed, 3),
            "postgres_cores": None if database_cpu is None else round(database_cpu / seconds, 2),
            "client_cores": round(client_cpu / seconds, 2),
            "client_ms_per_request": round(1000 * client_cpu / completed, 3) if completed else None,
            "machine_busy_pct": busy,
            "steal_pct": steal,
        },
        "memory": memory.summary(),
    }


async def analyze(url: str) -> None:
    """ANALYZE the freshly loaded tables: without autovacuum the planner would otherwise
    plan the mastery queries for empty tables."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    pid = args.pid or find_server_pid()
    if pid is None:
        progress('no server PID (give --pid "$(pgrep -f "learntwin serve")"): memory not measured')
    classes = [f"bench-load-{n}" for n in range(args.classes)]
    loads = []
    if not args.skip_load:
        for class_id in classes:
            loads.append(await load_class(args, class_id, args.records_per_class))
        if args.database_url:
            progress("ANALYZE")
            await analyze(args.database_url)
        else:
            progress("no --database-url: not running ANALYZE (needed when autovacuum is off)")
    mix = operations(args, classes)
    await warm_cache(args, mix["predict_cached"])

    trivial = {"typename": Operation("typename", [TRIVIAL], lambda answer: None)}
    progress(f"client check: {{ __typename }} with 16 clients for {args.check_seconds} s")
    check = await run(args, trivial, {"typename": 1}, 16, args.check_seconds, pid)

    runs: dict[str, Any] = {}
    overall = RssWatch(pid)
    with overall:
        for clients in args.clients:
            await warm_cache(args, mix["predict_cached"])
            progress(f"mixed load: {clients} clients for {args.duration} s")
            runs[str(clients)] = result = await run(
                args, mix, args.mix, clients, args.duration, pid
            )
            progress(
                f"{clients} clients: {result['requests_per_s']} requests/s, "
                f"p99 {result['latency']['p99_ms']} ms, {result['errors']} errors"
            )
    solo: dict[str, Any] = {}
    if args.solo_seconds > 0:
        for name in MIX:
            progress(f"{name} alone: 16 clients for {args.solo_seconds} s")
            solo[name] = await run(args, mix, {name: 1}, 16, args.solo_seconds, pid)

    memory = overall.summary()
    at_16, at_200 = runs.get("16"), runs.get("200")
    # Every error counts against the target, the client check's and the solo runs' too.
    everything = {
        "client check": check,
        **{f"{clients} clients": r for clients, r in runs.items()},
        **{f"{name} alone": r for name, r in solo.items()},
    }
    errors = sum(r["errors"] for r in everything.values())
    samples = [
        f"{where}, {name}: {sample}"
        for where, r in everything.items()
        for name, o in r["operations"].items()
        for sample in o.get("error_samples", [])
    ]
    emit(
        {
            "bench": "load",
            "url": args.url,
            "server_pid": pid,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "mix_weights": args.mix,
            "fixture": {
                "classes": classes,
                "records_per_class": args.records_per_class,
                "students_page": args.page,
                "ingest_records": args.ingest_records,
                "predict_batch": args.predict_batch,
                "loads": loads,
            },
            "client_check": {
                "query": "{ __typename }",
                "clients": 16,
                "requests_per_s": check["requests_per_s"],
                "latency": check["latency"],
                "errors": check["errors"],
                "cpu": check["cpu"],
            },
            "runs": runs,
            "solo_16_clients": solo or None,
            "memory": memory,
            "errors": errors,
            "error_samples": samples[:10],
            "targets": {**TARGETS, "errors": 0},
            "meets_target": {
                "requests_per_s_at_16": None
                if at_16 is None
                else at_16["requests_per_s"] >= TARGETS["requests_per_s_at_16"],
                "p99_ms_at_200": None
                if at_200 is None
                else (at_200["latency"]["p99_ms"] or 0) <= TARGETS["p99_ms_at_200"],
                "rss_growth_mb": None
                if memory is None
                else memory["rss_growth_mb"] <= TARGETS["rss_growth_mb"],
                "errors": errors == 0,
            },
        }
    )


def weights(text: str) -> dict[str, int]:
    """`name=weight,...` over the operations of MIX."""
    out = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in MIX or not weight.isdigit() or int(weight) < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: want NAME=WEIGHT with NAME in {list(MIX)}")
        out[name] = int(weight)
    return out


def arguments() -> argparse.Namespace:
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--mix",
        type=weights,
        default=MIX,
        help="operation weights, e.g. ingest=1 to load (or profile) one alone "
        f"(default {','.join(f'{k}={v}' for k, v in MIX.items())})",
    )
    p.add_argument("--pid", type=int, default=None, help='server PID: pgrep -f "learntwin serve"')
    p.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 16, 200],
        help="comma-separated concurrent client counts, one run each (default 1,16,200)",
    )
    p.add_argument("--duration", type=float, default=60, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each run")
    p.add_argument("--check-seconds", type=float, default=5, help="{ __typename } check length")
    p.add_argument(
        "--solo-seconds",
        type=float,
        default=0,
        help="then each operation alone at 16 clients for this long (default 0: not run)",
    )
    p.add_argument("--timeout", type=float, default=30, help="seconds before a request fails")
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--records-per-class", type=int, default=20_000)
    p.add_argument("--page", type=int, default=20, help="students per page (default 20)")
    p.add_argument("--ingest-records", type=int, default=100)
    p.add_argument("--predict-batch", type=int, default=100)
    p.add_argument("--skip-load", action="store_true", help="the fixture classes are loaded")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the server's Postgres, to ANALYZE after loading (default $DATABASE_URL)",
    )
    args = p.parse_args()
    # The database name, to find its Postgres backends' CPU when Postgres runs here.
    path = urllib.parse.urlsplit(args.database_url or "").path.strip("/")
    args.database = path or None
    return args


if __name__ == "__main__":
    arguments_ = arguments()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(arguments_))
    else:
        # The event loop is most of the client's CPU: uvloop's costs ~40 % less per request.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(arguments_))
