"""The same nested reads on this server and on PostGraphile 4 over the same database.

Requests/s and p50/p95 of each read on both systems, at 1 and 16 concurrent clients:

    python bench/vs_postgraphile.py --url http://127.0.0.1:8000 --api-key devkey
        --database-url postgresql://postgres@127.0.0.1:5432/DB [--clients 1,16]
        [--seconds 10] [--warmup 1] [--rounds 3] [--skip-load] [--scratch DIR] [--pid PID]

PostGraphile POSTGRAPHILE is installed with npm into --scratch (default under the temp
dir, reused once there) and started on a free port against --database-url, the server's
own database, with FLAGS: plain lists (`--simple-collections only`, its cheapest form), no
mutations, GraphiQL or query log. `metrics` and `metric_rollups` have no foreign keys, so
a smart-tags file in --scratch declares them for PostGraphile's relations (the database
is not changed). Without node and npm, or when npm fails, it prints `skipped` and exits 0.

Fixture unless --skip-load: a class of 100 students (of this class only) with 20 metrics
each over 14 days, through POST /ingest/json (fixed event ids: a rerun stores nothing),
then ANALYZE. The reads, each written in both schemas (`equivalent` in the JSON):
  students_classes  the class's 100 students with the ids of their classes;
  metrics           the class's first 100 metrics by (timestamp, id), 8 fields each;
  students_mastery  the 100 students' mastery (population, avgConfidence, rateStuck),
                    computed by our server from the rollups; PostGraphile 4 has no
                    aggregates without a plugin, so it returns each student's hourly
                    rollup rows (n, stuck, confidenceSum) and computes nothing;
  typename          `{ __typename }` on both, and `healthz`, our GET /healthz.
Both answers of each read are compared once first (`same_data`; for mastery, what the rows
add up to). Every measured answer must be HTTP 200 JSON without `errors` holding 100 nodes
each with its nested list; failures are counted, with samples.

A run is `clients` closed loops on keep-alive connections (common.py's bare asyncio
client, uvloop when installed) for --warmup, then --seconds measured. A round runs each
read at each client count on both systems back to back, the order alternating by read and
by round; figures are medians over the rounds (each round kept). `ratio_requests_per_s` is
ours / theirs (above 1: ours serves more), `ratio_p50` ours / theirs (below 1: ours answers
sooner); `cpu_ms_per_request` is the serving process's CPU (ours: --pid, else whatever
listens on --url's port), `client_cpu_ms_per_request` this client's, `machine_busy_pct`
how busy both cores were (near 100: the machine, not either server, was the limit). PostGraphile runs as one node process (NODE_ENV=production)
with its default pool of 10 connections, as `learntwin serve` does by default.
Targets: ours >= 1.0x theirs in requests/s on every nested read at every client count, and
our `{ __typename }` p50 <= 1.5x our GET /healthz p50.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from common import (
    AsyncKeepAlive,
    Endpoint,
    analyze_database,
    async_client,
    closed_loop,
    emit,
    free_port,
    listening_pid,
    median,
    npm_install,
    parser,
    population,
    post_ingest,
    progress,
    ratio,
    seed_records,
    start_server,
    stop_process,
)

POSTGRAPHILE = "4.14.1"  # the newest 4.x; PostGraphile 5 needs Node 22
FLAGS = [
    *("--disable-graphiql", "--disable-default-mutations", "--disable-query-log"),
    *("--no-setof-functions-contain-nulls", "--simple-collections", "only"),
]
FOREIGN_KEYS = {
    "metrics": ["(class_id) references classes (id)", "(student_id) references students (id)"],
    "metric_rollups": ["(student_id) references students (id)"],
}
SMART_TAGS = {
    "version": 1,
    "config": {"class": {t: {"tags": {"foreignKey": k}} for t, k in FOREIGN_KEYS.items()}},
}
CLASS_ID = "bench-pg-class"
STUDENTS = 100
METRICS_PER_STUDENT = 20
TARGETS = {"nested_ratio_min": 1.0, "typename_p50_over_healthz_max": 1.5}
TYPENAME = orjson.dumps({"query": "{ __typename }"})
MASTERY_SUMS = ("n", "confidenceSum", "stuck")

Path_ = tuple[str, ...]


def dig(value: Any, path: Path_) -> Any:
    for key in path:
        value = value[key]
    return value


@dataclass
class Side:
    """A read in one schema: 100 items at `items` under `data`, each with a non-empty
    `nested`; `row` makes an item comparable with the other side's."""

    query: str
    items: Path_
    nested: Path_
    row: Callable[[Any], Any]

    def check(self, answer: Any) -> str | None:
        found = dig(answer["data"], self.items)
        if len(found) != STUDENTS:
            return f"{len(found)} nodes at {'.'.join(self.items)}, expected {STUDENTS}"
        if not all(dig(item, self.nested) for item in found):
            return f"a node without {'.'.join(self.nested)}"
        return None


@dataclass
class Read:
    name: str
    equivalent: str
    ours: Side
    theirs: Side


def typename(answer: Any) -> str | None:
    return None if answer["data"]["__typename"] == "Query" else f"not Query: {answer}"


def healthz(answer: Any) -> str | None:
    return None if answer.get("status") == "ok" else f"not ok: {answer}"


def metric(m: dict[str, Any], ts: str) -> tuple[Any, ...]:
    flags = (m[k] for k in ("studentId", "stuck", "gotIt", "pause", "example"))
    return (str(m["id"]), float(m["confidence"]), *flags, datetime.fromisoformat(m[ts]))


def ours_mastery(edge: dict[str, Any]) -> tuple[Any, ...]:
    node, m = edge["node"], edge["node"]["mastery"]
    return (node["id"], m["population"], round(m["avgConfidence"], 9), round(m["rateStuck"], 9))


def summed(item: dict[str, Any]) -> tuple[Any, ...]:
    """The mastery figures a client gets by adding up a student's rollup rows."""
    n, confidence, stuck = (sum(r[k] for r in dig(item, ROLLUPS)) for k in MASTERY_SUMS)
    return (item["studentByStudentId"]["id"], n, round(confidence / n, 9), round(stuck / n, 9))


OURS_STUDENTS = "query($id: ID!) { class(id: $id) { students(first: 100) { edges { node"
THEIRS_STUDENTS = (
    "query($id: String!) { classById(id: $id) {"
    " classStudentsByClassIdList(first: 100, orderBy: PRIMARY_KEY_ASC) { studentByStudentId"
)
OURS_EDGES: Path_ = ("class", "students", "edges")
THEIRS_LIST: Path_ = ("classById", "classStudentsByClassIdList")
CLASS_IDS: Path_ = ("studentByStudentId", "classStudentsByStudentIdList")
ROLLUPS: Path_ = ("studentByStudentId", "metricRollupsByStudentIdList")
READS = [
    Read(
        "students_classes",
        "ours: Class.students(first: 100) -> Student.classes { id }; theirs: classById ->"
        " classStudentsByClassIdList(first: 100, primary key order) -> studentByStudentId"
        " -> classStudentsByStudentIdList { classId }",
        Side(
            OURS_STUDENTS + " { id classes { id } } } } } }",
            OURS_EDGES,
            ("node", "classes"),
            lambda e: (e["node"]["id"], sorted(c["id"] for c in e["node"]["classes"])),
        ),
        Side(
            THEIRS_STUDENTS + " { id classStudentsByStudentIdList { classId } } } } }",
            THEIRS_LIST,
            CLASS_IDS,
            lambda s: (
                dig(s, ("studentByStudentId", "id")),
                sorted(c["classId"] for c in dig(s, CLASS_IDS)),
            ),
        ),
    ),
    Read(
        "metrics",
        "ours: Class.metrics(first: 100), in (timestamp, id) order; theirs: classById ->"
        " metricsByClassIdList(first: 100, orderBy: [TS_ASC, ID_ASC]); the same 8 fields",
        Side(
            "query($id: ID!) { class(id: $id) { metrics(first: 100) { edges { node"
            " { id studentId confidence timestamp stuck gotIt pause example } } } } }",
            ("class", "metrics", "edges"),
            ("node", "id"),
            lambda e: metric(e["node"], "timestamp"),
        ),
        Side(
            "query($id: String!) { classById(id: $id) {"
            " metricsByClassIdList(first: 100, orderBy: [TS_ASC, ID_ASC])"
            " { id studentId confidence ts stuck gotIt pause example } } }",
            ("classById", "metricsByClassIdList"),
            ("id",),
            lambda m: metric(m, "ts"),
        ),
    ),
    Read(
        "students_mastery",
        "ours: Class.students(first: 100) -> Student.mastery { population avgConfidence"
        " rateStuck }, computed by the server from the rollups; theirs (PostGraphile 4 has"
        " no aggregates without a plugin): the same students -> metricRollupsByStudentIdList"
        " { n stuck confidenceSum }, each student's hourly rollup rows, summed by nobody",
        Side(
            OURS_STUDENTS + " { id mastery { population avgConfidence rateStuck } } } } } }",
            OURS_EDGES,
            ("node", "mastery", "population"),
            ours_mastery,
        ),
        Side(
            THEIRS_STUDENTS
            + " { id metricRollupsByStudentIdList { n stuck confidenceSum } } } } }",
            THEIRS_LIST,
            ROLLUPS,
            summed,
        ),
    ),
]


def start_postgraphile(scratch: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    """PostGraphile serving `database_url` on `port`, with the smart tags in `scratch`."""
    (scratch / "postgraphile.tags.json5").write_text(json.dumps(SMART_TAGS, indent=2) + "\n")
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    cli = scratch / "node_modules" / "postgraphile" / "cli.js"
    argv = ["node", str(cli), "-c", url, "--host", "127.0.0.1", "--port", str(port), *FLAGS]
    env = {**os.environ, "NODE_ENV": "production"}
    return start_server(argv, scratch, port, TYPENAME, env=env)  # tags are read from cwd


async def load(args: argparse.Namespace) -> dict[str, Any]:
    """The class, its 100 students and their metrics, then ANALYZE."""
    size = STUDENTS * METRICS_PER_STUDENT
    async with async_client(args, connections=1) as client:
        have = await population(client, CLASS_ID)
        if have < size:
            records = seed_records(
                CLASS_ID, size, students=STUDENTS, event_ids=True, chronological_of=size
            )
            for record in records:
                record["student_id"] = f"bench-pg-{record['student_id']}"
            answer = await post_ingest(client, orjson.dumps(records))
            if answer["errors"]:
                raise SystemExit(f"records refused: {answer['errors'][:3]}")
        final = await population(client, CLASS_ID)
    progress(f"{CLASS_ID}: {final:,} records ({have:,} before)")
    progress("ANALYZE")
    await analyze_database(args.database_url)
    return {"class_id": CLASS_ID, "students": STUDENTS, "records_before": have, "records": final}


async def same_data(args: argparse.Namespace, read: Read, urls: tuple[str, str]) -> Any:
    """True when both systems answer `read` with the same data, else what differs."""
    rows = []
    for side, url in zip((read.ours, read.theirs), urls, strict=True):
        connection = AsyncKeepAlive(argparse.Namespace(url=url, api_key=args.api_key))
        try:
            status, content = await connection.post("/graphql", body(side.query))
        finally:
            connection.close()
        try:
            answer = orjson.loads(content)
            if status == 200 and not answer.get("errors") and not side.check(answer):
                rows.append([side.row(item) for item in dig(answer["data"], side.items)])
                continue
        except (orjson.JSONDecodeError, KeyError, TypeError) as e:
            content += f" ({type(e).__name__}: {e})".encode()
        hint = "is the fixture loaded, and --database-url the server's database?"
        raise SystemExit(f"{read.name} at {url}: {content[:500]!r}; {hint}")
    if rows[0] == rows[1]:
        return True
    differ = [(a, b) for a, b in zip(*rows, strict=False) if a != b]
    return {"rows": [len(r) for r in rows], "first_difference": str(differ[:1])}


def body(query: str) -> bytes:
    return orjson.dumps({"query": query, "variables": {"id": CLASS_ID}})


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ["requests_per_s", "p50_ms", "p95_ms", "cpu_ms_per_request"]
    keys += ["client_cpu_ms_per_request", "machine_busy_pct"]
    return {
        **{k: median([r[k] for r in rounds]) for k in keys},
        "errors": sum(r["errors"] for r in rounds),
        "rounds": [{k: v for k, v in r.items() if k != "error_samples"} for r in rounds],
    }


Runs = dict[str, dict[int, dict[str, list[dict[str, Any]]]]]


async def measure(args: argparse.Namespace, theirs_url: str, theirs_pid: int) -> dict[str, Any]:
    fixture = {"class_id": CLASS_ID, "loaded": False} if args.skip_load else await load(args)
    port = urllib.parse.urlsplit(args.url).port
    pid = args.pid or (listening_pid(port) if port else None)
    ours = functools.partial(Endpoint, args.url, "/graphql", pid=pid)
    theirs = functools.partial(Endpoint, theirs_url, "/graphql", pid=theirs_pid)
    endpoints: dict[str, dict[str, Endpoint]] = {
        r.name: {
            "ours": ours(body(r.ours.query), r.ours.check),
            "theirs": theirs(body(r.theirs.query), r.theirs.check),
        }
        for r in READS
    }
    equal = {r.name: await same_data(args, r, (args.url, theirs_url)) for r in READS}
    endpoints["typename"] = {"ours": ours(TYPENAME, typename), "theirs": theirs(TYPENAME, typename)}
    endpoints["healthz"] = {"ours": Endpoint(args.url, "/healthz", None, healthz, pid)}
    loop = functools.partial(closed_loop, warmup=args.warmup, give_up_after=args.timeout)
    runs: Runs = {}
    for number in range(args.rounds):
        for clients in args.clients:
            for index, (name, systems) in enumerate(endpoints.items()):
                order = list(systems)[:: -1 if (number + index) % 2 else 1]
                for system in order:
                    result = await loop(systems[system], args.api_key, clients, args.seconds)
                    progress(
                        f"round {number + 1}/{args.rounds}, {clients} clients, {name}, {system}: "
                        f"{result['requests_per_s']}/s, p50 {result['p50_ms']} ms, "
                        f"{result['errors']} errors"
                    )
                    runs.setdefault(name, {}).setdefault(clients, {})
                    runs[name][clients].setdefault(system, []).append(result)
    return {"server_pid": pid, "fixture": fixture, **report(args, runs, equal)}


def report(args: argparse.Namespace, runs: Runs, equal: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, dict[str, Any]] = {
        r.name: {"equivalent": r.equivalent, "same_data": equal[r.name], "ours": r.ours.query}
        | {"theirs": r.theirs.query}
        for r in READS
    }
    described["typename"] = {"ours": "{ __typename }", "theirs": "{ __typename }"}
    described["healthz"] = {"ours": "GET /healthz"}
    meets: dict[str, bool | None] = {}
    every = [
        (f"{name}, {clients} clients, {system}", r)
        for name, by_clients in runs.items()
        for clients, systems in by_clients.items()
        for system, rounds in systems.items()
        for r in rounds
    ]
    errors = sum(r["errors"] for _, r in every)
    samples = [f"{where}: {e}" for where, r in every for e in r.get("error_samples", [])]
    for name, by_clients in runs.items():
        described[name]["by_clients"] = per_clients = {}
        for clients, systems in by_clients.items():
            figures: dict[str, Any] = {s: summarise(rs) for s, rs in systems.items()}
            per_clients[str(clients)] = figures
            if "theirs" in figures:
                ours, theirs = figures["ours"], figures["theirs"]
                rps = ratio(ours["requests_per_s"], theirs["requests_per_s"])
                figures |= {
                    "ratio_requests_per_s": rps,
                    "ratio_p50": ratio(ours["p50_ms"], theirs["p50_ms"]),
                }
                if name in equal:
                    meets[f"{name}_at_{clients}"] = (rps or 0) >= TARGETS["nested_ratio_min"]
    baseline = {}
    for count in args.clients:
        key = str(count)
        p50 = [described[q]["by_clients"][key]["ours"]["p50_ms"] for q in ("typename", "healthz")]
        share = ratio(*p50)
        baseline[key] = {"typename_p50_ms": p50[0], "healthz_p50_ms": p50[1], "ratio": share}
        most = TARGETS["typename_p50_over_healthz_max"]
        meets[f"typename_p50_vs_healthz_at_{key}"] = None if share is None else share <= most
    meets["errors"] = errors == 0
    return {
        "queries": described,
        "typename_vs_healthz": baseline,
        "errors": errors,
        "error_samples": samples[:10],
        "targets": {**TARGETS, "errors": 0},
        "meets_target": meets,
        "meets_all_targets": all(meets.values()),
    }


def main(args: argparse.Namespace) -> None:
    reason = npm_install(args.scratch, "postgraphile", POSTGRAPHILE)
    if reason is not None:
        emit({"bench": "vs_postgraphile", "skipped": reason})
        return
    if not args.database_url:
        raise SystemExit("--database-url (or DATABASE_URL) must name the server's database")
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    port = free_port()
    theirs_url = f"http://127.0.0.1:{port}"
    progress(f"starting PostGraphile {POSTGRAPHILE} on port {port}")
    process = start_postgraphile(args.scratch, args.database_url, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `finally` stops PostGraphile
    try:
        coroutine = measure(args, theirs_url, process.pid)
        try:
            import uvloop
        except ImportError:
            result = asyncio.run(coroutine)
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                result = runner.run(coroutine)
    finally:
        stop_process(process)
    theirs: dict[str, Any] = {"version": POSTGRAPHILE, "node": node.stdout.strip()}
    theirs["url"] = theirs_url
    theirs |= {"flags": FLAGS, "smart_tags": SMART_TAGS}
    emit(
        {"bench": "vs_postgraphile", "url": args.url, "postgraphile": theirs}
        | {"clients": args.clients, "seconds": args.seconds, "warmup_s": args.warmup}
        | {"rounds": args.rounds, **result}
    )


def arguments() -> argparse.Namespace:
    p = parser(__doc__.splitlines()[0])
    add = p.add_argument
    add("--clients", type=lambda t: [int(n) for n in t.split(",")], default=[1, 16], help="counts")
    add("--seconds", type=float, default=10, help="measured seconds per run (default 10)")
    add("--warmup", type=float, default=1, help="unmeasured seconds before each run (1)")
    add("--rounds", type=int, default=3, help="rounds of alternating runs (default 3)")
    add("--timeout", type=float, default=30, help="seconds before a request fails (30)")
    add("--skip-load", action="store_true", help="the fixture class is loaded already")
    add("--pid", type=int, help="our server's PID (default: whatever listens on --url's port)")
    scratch = Path(tempfile.gettempdir()) / f"learntwin-bench-postgraphile-{POSTGRAPHILE}"
    add("--scratch", type=Path, default=scratch, help=f"PostGraphile's folder ({scratch})")
    database = os.environ.get("DATABASE_URL")
    add("--database-url", default=database, help="the server's Postgres ($DATABASE_URL)")
    return p.parse_args()


if __name__ == "__main__":
    main(arguments())
