"""Tutor replies: first-delta latency, concurrent conversations, fallback send-to-DONE.

    python bench/tutor.py [--database-url postgresql://postgres@127.0.0.1:5432/benchtutor]
        [--redis-url redis://127.0.0.1:6379/10] [--api-key devkey] [--rounds 40]
        [--conversations 50] [--fallback-rounds 40] [--learners 8]

Unlike the other scripts it starts what it measures: the fake LLM of tests/fake_llm.py
(an OpenAI-compatible server streaming `--chunks` chunks `--chunk-delay` s apart) in this
process, then `learntwin serve` (with its in-process arq worker) on a free port with
OPENAI_API_KEY/OPENAI_BASE_URL pointing at the fake; the database is created when
missing and migrated first. The learners (`--learners`, e.g. bench-tutor-0@example.com)
are registered once (a student of their own each) and signed in on later runs; messages
are spread over them so no student reaches the 30 messages a minute the server allows.

1. First delta: `--rounds` times, one after another, a learner sends a message over HTTP
   and subscribes to `tutorReply(afterSeq: 0)` at once on its open graphql-transport-ws
   connection. The latency is (arrival of the first DELTA) - (the fake's first content
   chunk of that reply), both `time.monotonic()` in this process. A reply whose first
   chunk was written before the subscribe message was sent reaches the subscriber by
   replay, not push: such rounds are counted (`first_chunk_before_subscribe`) and kept.
2. Concurrent: `--conversations` sessions (spread over the learners), each with its own
   WebSocket connected beforehand, send one message each at the same moment and follow
   their reply. Every stream must be DELTAs with seq 1..n-1 and no gap, then DONE with
   seq n, the DELTAs joined equal to the DONE message's content, source LLM.
3. Fallback: that server is stopped and another started without OPENAI_API_KEY, so
   replies come from the deterministic fallback. `--fallback-rounds` times: the clock
   starts just before the HTTP request of sendTutorMessage; once it returns, the reply is
   subscribed to on an already open connection; the latency ends at DONE's arrival.

Targets (the issue): first delta p95 <= 30 ms; no delta lost among 50 concurrent
conversations; fallback send-to-DONE p50 <= 50 ms. Server logs are kept in --scratch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import (
    DEFAULT_API_KEY,
    emit,
    free_port,
    median,
    progress,
    stop_process,
    summary_ms,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fake_llm import FakeLLM, running_fake_llm  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/benchtutor"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
PASSWORD = "bench tutor password"
RATE_PER_MINUTE = 30  # the server's default LEARNTWIN_TUTOR_MESSAGES_PER_MINUTE
WAIT_FOR_REPLY = 60.0
WARMUP_ROUNDS = 2
TARGET_FIRST_DELTA_P95_MS = 30
TARGET_FALLBACK_P50_MS = 50
TARGET_LOST_DELTAS = 0

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
LINK = "mutation($u: ID!, $s: ID!) { linkStudent(userId: $u, studentId: $s) { studentId } }"
START = "mutation($i: StartChatSessionInput!) { startChatSession(input: $i) { id } }"
SEND = "mutation($i: SendTutorMessageInput!) { sendTutorMessage(input: $i) { reply { id } } }"
FOLLOW = (
    "subscription($m: ID!, $a: Int!) { tutorReply(messageId: $m, afterSeq: $a) "
    "{ seq kind delta message { content status source } } }"
)
QUESTIONS = [
    "How do fractions work?",
    "Why is the sky blue?",
    "What is a derivative?",
    "How do I balance a chemical equation?",
    "What does a for loop do?",
]


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- database and servers


async def ensure_database(url: str) -> None:
    """Create the database of `url` when it does not exist (as its user, from `postgres`)."""
    import asyncpg

    url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"{url}: no database name")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    connection = await asyncpg.connect(admin)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            progress(f"creating database {name}")
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def learntwin_command() -> str:
    command = Path(sys.executable).with_name("learntwin")
    if not command.exists():
        raise SystemExit(f"{command} not found: install the project into this interpreter's venv")
    return str(command)


def server_env(args: argparse.Namespace, llm_base_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LEARNTWIN_"))}
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "API_KEY": args.api_key,
            "LEARNTWIN_DATA_DIR": str(args.scratch / "data"),
            # Learners are registered once and reused; other limits stay the server's.
            "LEARNTWIN_REGISTRATIONS_PER_ADDRESS": "1000",
        }
    )
    if llm_base_url is not None:
        env["OPENAI_API_KEY"] = "sk-bench"
        env["OPENAI_BASE_URL"] = llm_base_url
    return env


def migrate(args: argparse.Namespace) -> None:
    progress("learntwin migrate")
    done = subprocess.run(
        [learntwin_command(), "migrate"],
        cwd=args.scratch,
        env=server_env(args, None),
        stdout=sys.stderr,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"learntwin migrate failed (exit {done.returncode}), see stderr")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None


def spawn_server(args: argparse.Namespace, name: str, llm_base_url: str | None) -> Server:
    port = free_port()
    log = args.scratch / f"server-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [learntwin_command(), "serve", "--port", str(port), "--no-access-log"],
            cwd=args.scratch,  # no .env of the repository is read
            env=server_env(args, llm_base_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, port, process, log)


async def start_server(args: argparse.Namespace, name: str, llm_base_url: str | None) -> Server:
    """`learntwin serve` on a free port, once GET /healthz answers 200."""
    server = spawn_server(args, name, llm_base_url)
    process, port, log = server.process, server.port, server.log
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline and server.alive():
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{server.url}/healthz")).status_code == 200:
                    progress(f"server {name} (pid {process.pid}) on port {port}, log {log}")
                    return server
            await asyncio.sleep(0.2)
    stop_process(process)
    raise SystemExit(f"server {name} did not answer /healthz on port {port}:\n{server.tail()}")


# ---------------------------------------------------------------- GraphQL clients


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    *,
    token: str | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    sent = {}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if api_key is not None:
        sent["X-API-Key"] = api_key
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=sent
    )
    if response.status_code != 200:
        raise BenchError(f"GraphQL HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def data_of(body: dict[str, Any], what: str) -> dict[str, Any]:
    if body.get("errors"):
        raise BenchError(f"{what}: {body['errors'][:2]}")
    return body["data"]


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1).rstrip("/") + "/graphql"


@contextlib.asynccontextmanager
async def open_ws(url: str, token: str) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection, acknowledged, signed in as the learner."""
    async with connect(
        ws_url(url), subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack, _ = await receive(ws, 10)
        if ack["type"] != "connection_ack":
            raise BenchError(f"connection refused: {ack}")
        yield ws


async def receive(
    ws: ClientConnection, within: float = WAIT_FOR_REPLY
) -> tuple[dict[str, Any], float]:
    """The next protocol message other than ping/pong, and its arrival (time.monotonic)."""
    while True:
        raw = await asyncio.wait_for(ws.recv(), within)
        arrived = time.monotonic()
        message = json.loads(raw)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        if message["type"] != "pong":
            return message, arrived


@dataclass
class Event:
    seq: int
    kind: str
    delta: str | None
    message: dict[str, Any] | None
    arrived: float


async def follow(ws: ClientConnection, sub: str, message_id: str) -> list[Event]:
    """Subscribe to the reply (afterSeq 0) and collect its events until `complete`."""
    await ws.send(
        json.dumps(
            {
                "id": sub,
                "type": "subscribe",
                "payload": {"query": FOLLOW, "variables": {"m": message_id, "a": 0}},
            }
        )
    )
    events: list[Event] = []
    while True:
        message, arrived = await receive(ws)
        if message.get("id") != sub:
            continue
        if message["type"] == "complete":
            return events
        if message["type"] != "next" or message["payload"].get("errors"):
            raise BenchError(f"subscription failed: {message}")
        e = message["payload"]["data"]["tutorReply"]
        events.append(Event(e["seq"], e["kind"], e["delta"], e["message"], arrived))


def stream_problems(events: list[Event], source: str) -> dict[str, Any]:
    """What is wrong with one reply's events: missing seqs, a bad end, a content that is
    not the DELTAs joined, an unexpected source."""
    problems: list[str] = []
    deltas = [e for e in events if e.kind == "DELTA"]
    last = events[-1] if events else None
    seqs = [e.seq for e in events]
    top = max(seqs, default=0)
    missing = sorted(set(range(1, top + 1)) - set(seqs))
    if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
        problems.append(f"seqs out of order or repeated: {seqs}")
    if missing:
        problems.append(f"missing seqs {missing}")
    if last is None or last.kind != "DONE":
        problems.append(f"ended with {last.kind if last else 'nothing'}, not DONE")
    message = (last.message if last else None) or {}
    joined = "".join(e.delta or "" for e in deltas)
    if last is not None and last.kind == "DONE":
        if message.get("status") != "COMPLETE":
            problems.append(f"status {message.get('status')}")
        if message.get("source") != source:
            problems.append(f"source {message.get('source')}, not {source}")
        if joined != message.get("content"):
            problems.append(
                f"DELTAs joined ({len(joined)} chars) != content ({len(message.get('content') or '')})"
            )
    return {
        "problems": problems,
        "missing": len(missing),
        "deltas": len(deltas),
        "mismatch": last is not None and last.kind == "DONE" and joined != message.get("content"),
    }


# ---------------------------------------------------------------- learners


@dataclass
class Learner:
    number: int
    email: str
    student_id: str
    token: str = ""
    sent_at: list[float] = field(default_factory=list)  # time.monotonic() of each send

    def recent(self, now: float) -> int:
        self.sent_at = [t for t in self.sent_at if now - t < 61]
        return len(self.sent_at)


async def sign_in(client: httpx.AsyncClient, api_key: str, learner: Learner) -> None:
    """Log in; the first time, register (a student of its own) or, when the student
    exists already, register without it and have staff link it, then log in."""
    login = await graphql(client, LOGIN, {"e": learner.email, "p": PASSWORD})
    if not login.get("errors"):
        learner.token = login["data"]["login"]["token"]
        return
    account = {"email": learner.email, "password": PASSWORD}
    own = await graphql(client, REGISTER, {"i": {**account, "studentId": learner.student_id}})
    if own.get("errors"):
        field_name = own["errors"][0].get("extensions", {}).get("field")
        if field_name != "studentId":
            raise BenchError(f"register {learner.email}: {own['errors'][:2]} (login: {login})")
        registered = data_of(await graphql(client, REGISTER, {"i": account}), "register")
        user_id = registered["register"]["user"]["id"]
        data_of(
            await graphql(client, LINK, {"u": user_id, "s": learner.student_id}, api_key=api_key),
            "linkStudent",
        )
    login = await graphql(client, LOGIN, {"e": learner.email, "p": PASSWORD})
    learner.token = data_of(login, "login")["login"]["token"]


class Pool:
    """The learners, each message given to the one that sent the fewest in the last
    minute (waiting when all are near the server's per-student limit)."""

    def __init__(self, learners: list[Learner]) -> None:
        self.learners = learners
        self.rate_limited = 0

    async def take(self) -> Learner:
        while True:
            now = time.monotonic()
            learner = min(self.learners, key=lambda a: a.recent(now))
            if learner.recent(now) < RATE_PER_MINUTE - 2:
                learner.sent_at.append(now)
                return learner
            await asyncio.sleep(min(learner.sent_at) + 61 - now)


async def start_session(client: httpx.AsyncClient, learner: Learner) -> str:
    body = await graphql(
        client, START, {"i": {"studentId": learner.student_id}}, token=learner.token
    )
    return str(data_of(body, "startChatSession")["startChatSession"]["id"])


async def send(
    client: httpx.AsyncClient, pool: Pool, learner: Learner, session_id: str, content: str
) -> str:
    """sendTutorMessage as the learner; the reply's id. RATE_LIMITED (a run just before
    used the same students) is waited out and counted."""
    while True:
        body = await graphql(
            client,
            SEND,
            {
                "i": {
                    "sessionId": session_id,
                    "content": content,
                    "clientMessageId": secrets.token_hex(8),
                }
            },
            token=learner.token,
        )
        errors = body.get("errors") or []
        if errors and errors[0].get("extensions", {}).get("code") == "RATE_LIMITED":
            pool.rate_limited += 1
            wait = float(errors[0]["extensions"].get("retryAfter") or 5)
            progress(f"{learner.email} rate limited, waiting {wait:g} s")
            await asyncio.sleep(wait)
            continue
        return str(data_of(body, "sendTutorMessage")["sendTutorMessage"]["reply"]["id"])


# ---------------------------------------------------------------- the measurements


async def first_delta(
    args: argparse.Namespace, server: Server, fake: FakeLLM, pool: Pool
) -> dict[str, Any]:
    latencies: list[float] = []
    before_subscribe = unmatched = 0
    problems: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=60))
        sockets = {
            a.number: await stack.enter_async_context(open_ws(server.url, a.token))
            for a in pool.learners
        }
        sessions = {a.number: await start_session(client, a) for a in pool.learners}
        progress(f"first delta: {args.rounds} replies, one at a time")
        for number in range(-WARMUP_ROUNDS, args.rounds):
            learner = await pool.take()
            index = len(fake.first_chunk_at)
            reply = await send(
                client,
                pool,
                learner,
                sessions[learner.number],
                QUESTIONS[number % len(QUESTIONS)],
            )
            subscribed = time.monotonic()
            events = await follow(sockets[learner.number], f"r{number}", reply)
            if number < 0:
                continue
            check = stream_problems(events, "LLM")
            if check["problems"]:
                problems.append(f"round {number}: {'; '.join(check['problems'])}")
            first = next((e for e in events if e.kind == "DELTA"), None)
            # One streamed reply per round, so its first chunk is entry `index`.
            if first is None or len(fake.first_chunk_at) != index + 1:
                unmatched += 1
                continue
            chunk_at = fake.first_chunk_at[index]
            before_subscribe += chunk_at < subscribed
            latencies.append(first.arrived - chunk_at)
            if (number + 1) % 10 == 0:
                progress(f"  {number + 1}/{args.rounds}")
    summary = summary_ms(latencies)
    return {
        "rounds": args.rounds,
        "chunks": args.chunks,
        "chunk_delay_ms": args.chunk_delay * 1000,
        **summary,
        "first_chunk_before_subscribe": before_subscribe,
        "unmatched": unmatched,
        "stream_problems": len(problems),
        **({"problem_samples": problems[:5]} if problems else {}),
        "target_p95_ms": TARGET_FIRST_DELTA_P95_MS,
    }


async def concurrent(
    args: argparse.Namespace, server: Server, fake: FakeLLM, pool: Pool
) -> dict[str, Any]:
    count = args.conversations
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=server.url,
                timeout=120,
                limits=httpx.Limits(max_connections=count, max_keepalive_connections=count),
            )
        )
        learners = [await pool.take() for _ in range(count)]
        sessions = [await start_session(client, a) for a in learners]
        sockets = [await stack.enter_async_context(open_ws(server.url, a.token)) for a in learners]
        requests_before = len(fake.requests)
        progress(f"concurrent: {count} conversations at once")

        async def conversation(n: int) -> tuple[list[Event], float]:
            sent = time.monotonic()
            reply = await send(
                client, pool, learners[n], sessions[n], QUESTIONS[n % len(QUESTIONS)]
            )
            return await follow(sockets[n], f"c{n}", reply), sent

        began = time.monotonic()
        outcomes = await asyncio.gather(
            *(conversation(n) for n in range(count)), return_exceptions=True
        )
        ended = time.monotonic()
    failures = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
    done = [o for o in outcomes if not isinstance(o, BaseException)]
    checks = [stream_problems(events, "LLM") for events, _ in done]
    problems = [f"#{n}: {'; '.join(c['problems'])}" for n, c in enumerate(checks) if c["problems"]]
    last_done = max((events[-1].arrived for events, _ in done if events), default=ended)
    return {
        "conversations": count,
        "learners": len({a.number for a in learners}),
        "completed_ok": sum(1 for c in checks if not c["problems"]),
        "failed": len(failures),
        "lost_deltas": sum(c["missing"] for c in checks),
        "content_mismatches": sum(1 for c in checks if c["mismatch"]),
        "deltas_per_reply_median": median(c["deltas"] for c in checks),
        "llm_requests": len(fake.requests) - requests_before,
        "total_seconds": round(last_done - began, 3),
        "send_to_done": summary_ms([events[-1].arrived - sent for events, sent in done if events]),
        **({"problem_samples": (failures + problems)[:5]} if failures or problems else {}),
    }


async def fallback(args: argparse.Namespace, server: Server, pool: Pool) -> dict[str, Any]:
    latencies: list[float] = []
    mutation: list[float] = []
    to_first_delta: list[float] = []
    deltas: list[int] = []
    problems: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=60))
        sockets = {
            a.number: await stack.enter_async_context(open_ws(server.url, a.token))
            for a in pool.learners
        }
        sessions = {a.number: await start_session(client, a) for a in pool.learners}
        progress(f"fallback: {args.fallback_rounds} replies, one at a time")
        for number in range(-WARMUP_ROUNDS, args.fallback_rounds):
            learner = await pool.take()
            ws = sockets[learner.number]
            content = QUESTIONS[number % len(QUESTIONS)]
            began = time.monotonic()
            reply = await send(client, pool, learner, sessions[learner.number], content)
            returned = time.monotonic()
            events = await follow(ws, f"f{number}", reply)
            if number < 0:
                continue
            check = stream_problems(events, "FALLBACK")
            if check["problems"]:
                problems.append(f"round {number}: {'; '.join(check['problems'])}")
                continue
            latencies.append(events[-1].arrived - began)
            mutation.append(returned - began)
            first = next((e for e in events if e.kind == "DELTA"), None)
            if first is not None:
                to_first_delta.append(first.arrived - began)
            deltas.append(check["deltas"])
    summary = summary_ms(latencies)
    return {
        "rounds": args.fallback_rounds,
        **summary,
        "mutation": summary_ms(mutation),
        "send_to_first_delta": summary_ms(to_first_delta),
        "deltas_per_reply_median": median(deltas),
        "stream_problems": len(problems),
        **({"problem_samples": problems[:5]} if problems else {}),
        "target_p50_ms": TARGET_FALLBACK_P50_MS,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await ensure_database(args.database_url)
    migrate(args)
    result: dict[str, Any] = {"bench": "tutor", "scratch": str(args.scratch)}
    servers: list[Server] = []

    def server_failed(server: Server, exc: BaseException) -> dict[str, Any]:
        return {
            "error": f"{type(exc).__name__}: {exc}"[:2000],
            "server_alive": server.alive(),
            "server_log_tail": server.tail(2500),
        }

    try:
        async with running_fake_llm() as fake:
            fake.chunks, fake.chunk_delay = args.chunks, args.chunk_delay
            server = await start_server(args, "llm", fake.base_url)
            servers.append(server)
            learners = [
                Learner(n, f"bench-tutor-{n}@example.com", f"bench-tutor-{n}")
                for n in range(args.learners)
            ]
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                for learner in learners:
                    await sign_in(client, args.api_key, learner)
            pool = Pool(learners)
            try:
                result["first_delta_ms"] = await first_delta(args, server, fake, pool)
                progress(f"first delta p95: {result['first_delta_ms']['p95_ms']} ms")
            except (BenchError, TimeoutError, OSError) as exc:
                result["first_delta_ms"] = server_failed(server, exc)
            try:
                result["concurrent"] = await concurrent(args, server, fake, pool)
                progress(f"concurrent: lost {result['concurrent']['lost_deltas']} deltas")
            except (BenchError, TimeoutError, OSError) as exc:
                result["concurrent"] = server_failed(server, exc)
            stop_process(server.process)
        # Stopped first: its worker would otherwise take jobs from the same queue.
        server = await start_server(args, "fallback", None)
        servers.append(server)
        try:
            result["fallback_ms"] = await fallback(args, server, pool)
            progress(f"fallback p50: {result['fallback_ms']['p50_ms']} ms")
        except (BenchError, TimeoutError, OSError) as exc:
            result["fallback_ms"] = server_failed(server, exc)
        result["rate_limited_retries"] = pool.rate_limited
    finally:
        for server in servers:
            if server.alive():
                stop_process(server.process)

    first = result.get("first_delta_ms", {})
    conc = result.get("concurrent", {})
    fall = result.get("fallback_ms", {})
    result["meets_target"] = {
        "first_delta_p95": first.get("p95_ms") is not None
        and first["p95_ms"] <= TARGET_FIRST_DELTA_P95_MS
        and not first.get("stream_problems"),
        "concurrent_no_lost_delta": "error" not in conc
        and conc.get("completed_ok") == args.conversations
        and conc.get("lost_deltas") == TARGET_LOST_DELTAS
        and conc.get("content_mismatches") == 0,
        "fallback_p50": fall.get("p50_ms") is not None
        and fall["p50_ms"] <= TARGET_FALLBACK_P50_MS
        and not fall.get("stream_problems"),
    }
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    p.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    p.add_argument("--api-key", default=DEFAULT_API_KEY, help="the servers' admin key (API_KEY)")
    p.add_argument("--rounds", type=int, default=40, help="first-delta rounds")
    p.add_argument("--conversations", type=int, default=50)
    p.add_argument("--fallback-rounds", type=int, default=40)
    p.add_argument("--learners", type=int, default=8, help="learner accounts to spread over")
    p.add_argument("--chunks", type=int, default=50, help="chunks per streamed LLM reply")
    p.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between chunks")
    p.add_argument(
        "--scratch",
        type=Path,
        default=Path(tempfile.gettempdir()) / "learntwin-bench-tutor",
        help="working directory of the servers (their logs, data dir)",
    )
    args = p.parse_args()
    if args.learners < 1 or args.conversations < 1:
        raise SystemExit("--learners and --conversations must be at least 1")
    args.scratch.mkdir(parents=True, exist_ok=True)
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
