"""Shared by the bench scripts: arguments, HTTP clients, record generation, percentiles.

The scripts run against a served instance (`learntwin serve`) and print one JSON object
on stdout; progress goes to stderr. Run them from the repository root, for example
`python bench/ingest.py --url http://127.0.0.1:8000 --api-key devkey`.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_API_KEY = "devkey"
MAX_BATCH = 10_000  # the server's default LEARNTWIN_MAX_INGEST_BATCH

# The mastery classes, shared by bench/mastery.py and bench/export.py.
MASTERY_CLASSES = {
    10_000: "bench-m-10k",
    100_000: "bench-m-100k",
    1_000_000: "bench-m-1m",
}
STUDENTS = 30
SPREAD = timedelta(days=14)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--url", default=DEFAULT_URL, help=f"server base URL (default {DEFAULT_URL})")
    p.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help=f"ADMIN or INSTRUCTOR key (default {DEFAULT_API_KEY})",
    )
    return p


def emit(result: dict[str, Any]) -> None:
    """The one JSON object a bench prints on stdout, with the share of CPU time the
    hypervisor took while the bench ran (`cpu_steal_pct`): on a shared virtual machine
    latencies and rates follow it closely, so compare runs made at low steal."""
    result.setdefault("cpu_steal_pct", _STOLEN.percent())
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def headers(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}


def async_client(args: argparse.Namespace, *, connections: int = 8) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=args.url,
        headers=headers(args.api_key),
        timeout=httpx.Timeout(120.0, connect=10.0),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def sync_client(args: argparse.Namespace) -> httpx.Client:
    return httpx.Client(
        base_url=args.url, headers=headers(args.api_key), timeout=httpx.Timeout(120.0, connect=10.0)
    )


class KeepAliveClient:
    """One bare HTTP/1.1 keep-alive connection from the standard library, for latency
    benches: a full-featured client's own work per request (about half a millisecond
    for httpx here) would otherwise be counted as the server's."""

    def __init__(self, args: argparse.Namespace) -> None:
        url = urllib.parse.urlsplit(args.url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        self.connection = kind(url.hostname or "127.0.0.1", url.port, timeout=120)
        self.prefix = url.path.rstrip("/")
        self.headers = {**headers(args.api_key), "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and the whole body of a JSON POST."""
        self.connection.request("POST", self.prefix + path, body, self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


class StolenTime:
    """How much of this machine's CPU time the hypervisor took (steal) while the bench
    ran, from /proc/stat: on a shared virtual machine latencies follow it closely."""

    def __init__(self) -> None:
        self.started = self._read()

    @staticmethod
    def _read() -> list[int] | None:
        try:
            with open("/proc/stat") as stat:
                return [int(v) for v in stat.readline().split()[1:9]]
        except OSError:
            return None

    def percent(self) -> float | None:
        now = self._read()
        if self.started is None or now is None:
            return None
        spent = [b - a for a, b in zip(self.started, now, strict=True)]
        total = sum(spent)
        return round(100 * spent[7] / total, 1) if total else None

    def busy_percent(self) -> float | None:
        """The share of all CPUs' time spent on anything but idle and I/O wait (steal
        included) since the start: near 100 the machine itself was the limit."""
        now = self._read()
        if self.started is None or now is None:
            return None
        spent = [b - a for a, b in zip(self.started, now, strict=True)]
        total = sum(spent)
        return round(100 * (total - spent[3] - spent[4]) / total, 1) if total else None


class AsyncKeepAlive:
    """One bare HTTP/1.1 keep-alive connection on asyncio streams, for load benches: a
    full-featured client spends more CPU per request than a small server request costs,
    and on two cores the client would then measure itself. Requests are sent one at a
    time (no pipelining); the request head is built once per path."""

    def __init__(self, args: argparse.Namespace) -> None:
        url = urllib.parse.urlsplit(args.url)
        if url.scheme != "http":
            raise SystemExit(f"{args.url}: only http:// URLs are supported by this client")
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.prefix = url.path.rstrip("/")
        self.fixed = (
            f"Host: {url.netloc}\r\nX-API-Key: {args.api_key}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and the whole body of a JSON POST; reconnects when the server
        closed the connection after the previous answer."""
        if self.writer is None or self.reader is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % ((self.prefix + path).encode(), self.fixed, len(body), body)
        )
        return await self._read_answer()

    async def get(self, path: str) -> tuple[int, bytes]:
        """The status and the whole body of a GET (for the REST routes, e.g. /healthz);
        reconnects when the server closed the connection after the previous answer."""
        if self.writer is None or self.reader is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            b"GET %s HTTP/1.1\r\n%s\r\n" % ((self.prefix + path).encode(), self.fixed)
        )
        return await self._read_answer()

    async def _read_answer(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            content = await self.reader.readexactly(int(lower[at + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            content = b"".join(p[:-2] for p in parts)
        else:
            content = await self.reader.read()
            self.close()
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, content


Check = Callable[[Any], str | None]


@dataclass
class Endpoint:
    """One request a closed loop repeats: a JSON POST of `body`, or a GET when it is None;
    `check` says what is wrong with a 200 answer's parsed JSON (None: nothing). `pid` is
    the serving process, for its CPU per request."""

    url: str
    path: str
    body: bytes | None
    check: Check
    pid: int | None = None


async def endpoint_problem(
    connection: AsyncKeepAlive, endpoint: Endpoint, give_up_after: float
) -> str | None:
    """Why one request's answer is wrong (status, JSON, GraphQL `errors`, the check), or
    None."""
    try:
        async with asyncio.timeout(give_up_after):
            if endpoint.body is None:
                status, content = await connection.get(endpoint.path)
            else:
                status, content = await connection.post(endpoint.path, endpoint.body)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
        connection.close()  # the next request opens a fresh connection
        return f"{type(e).__name__}: {e}"
    if status != 200:
        return f"HTTP {status}: {content[:200]!r}"
    try:
        answer = orjson.loads(content)
        if isinstance(answer, dict) and answer.get("errors"):
            return f"GraphQL errors: {answer['errors'][:2]}"
        return endpoint.check(answer)
    except orjson.JSONDecodeError:
        return f"not JSON: {content[:200]!r}"
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        return f"unexpected answer ({type(e).__name__}: {e}): {content[:200]!r}"


async def closed_loop(
    endpoint: Endpoint,
    api_key: str,
    clients: int,
    seconds: float,
    *,
    warmup: float = 1.0,
    give_up_after: float = 30.0,
    samples_kept: int = 5,
) -> dict[str, Any]:
    """`clients` closed loops, each on its own AsyncKeepAlive connection, repeating one
    request for `warmup` then `seconds` measured seconds. Requests/s counts the answers
    arriving in the window, latencies are those of the requests sent in it; every wrong
    answer (warm-up included) is an error, with a few samples."""
    where = argparse.Namespace(url=endpoint.url, api_key=api_key)
    connections = [AsyncKeepAlive(where) for _ in range(clients)]
    await asyncio.gather(*(c.connect() for c in connections))
    latencies: list[float] = []
    samples: list[str] = []
    completed = errors = 0
    clock = time.perf_counter
    began = clock() + warmup
    ends = began + seconds

    async def client(connection: AsyncKeepAlive) -> None:
        nonlocal completed, errors
        while (sent := clock()) < ends:
            problem = await endpoint_problem(connection, endpoint, give_up_after)
            done = clock()
            if problem is not None:
                errors += 1
                if len(samples) < samples_kept:
                    samples.append(problem[:300])
            elif sent >= began:
                latencies.append(done - sent)
            if began <= done <= ends:
                completed += 1

    tasks = [asyncio.create_task(client(c)) for c in connections]
    await asyncio.sleep(max(0.0, began - clock()))
    cpu = process_cpu_seconds(endpoint.pid) if endpoint.pid else None
    mine, machine = time.process_time(), StolenTime()
    await asyncio.sleep(max(0.0, ends - clock()))
    if cpu is not None and endpoint.pid:
        cpu = process_cpu_seconds(endpoint.pid) - cpu
    mine = time.process_time() - mine
    await asyncio.gather(*tasks)
    for connection in connections:
        connection.close()
    latency = summary_ms(latencies)
    return {
        "requests_per_s": round(completed / seconds, 1),
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "errors": errors,
        "cpu_ms_per_request": round(1000 * cpu / completed, 3)
        if cpu is not None and completed
        else None,
        "client_cpu_ms_per_request": round(1000 * mine / completed, 3) if completed else None,
        "machine_busy_pct": machine.busy_percent(),
        **({"error_samples": samples} if samples else {}),
    }


def listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine (from /proc/net/tcp*), e.g.
    the server under test when several `learntwin serve` run; None when not found."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not inodes:
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return None


def npm_install(folder: Path, package: str, version: str) -> str | None:
    """`package@version` installed with npm in `folder` (created, and reused when that
    version is already there), or why not. npm's output goes to stderr."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH: {package} cannot run"
    manifest = folder / "node_modules" / package / "package.json"
    if manifest.exists() and orjson.loads(manifest.read_bytes()).get("version") == version:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text('{"private": true}\n')
    progress(f"npm install {package}@{version} into {folder}")
    command = ["npm", "install", "--no-audit", "--no-fund", "--save-exact", f"{package}@{version}"]
    done = subprocess.run(command, cwd=folder, stdout=2, stderr=2, check=False)
    if done.returncode != 0 or not manifest.exists():
        return f"npm install {package}@{version} failed (exit {done.returncode}), see stderr"
    return None


def start_server(
    argv: list[str],
    cwd: Path,
    port: int,
    probe: bytes,
    *,
    env: dict[str, str] | None = None,
    wait: float = 60,
) -> subprocess.Popen[bytes]:
    """Run `argv` in `cwd` (with `env`; output to `cwd`/server.log) and return once it
    answers 200 to a POST of `probe` to /graphql on 127.0.0.1:`port`; stopped, with the
    log's tail as the error, when it exits or does not answer within `wait` seconds."""
    log_path = cwd / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("POST", "/graphql", probe, {"Content-Type": "application/json"})
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    stop_process(process)
    tail = log_path.read_text(errors="replace")[-1500:]
    raise SystemExit(f"{argv[:2]} did not answer on port {port}:\n{tail}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values given (None ignored), to 3 decimals."""
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's choice), for a server to start on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def analyze_database(url: str) -> None:
    """ANALYZE the database at `url` (a SQLAlchemy `+asyncpg` URL is accepted): freshly
    loaded tables are otherwise planned as empty when autovacuum has not run yet."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def find_server_pid() -> int | None:
    """The one process whose command line runs `learntwin … serve` (not this script)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if any("learntwin" in w for w in words) and "serve" in words:
            found.append(int(entry.name))
    return found[0] if len(found) == 1 else None


def process_memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (the kernel's peak since the process started), in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of all the process's threads so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces: count the fields after its ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def database_backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each Postgres backend serving `database` on this machine
    (their process titles read `postgres: [CLUSTER: ]USER DATABASE ...`; Debian names the
    cluster, e.g. `15/main:`)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            words = title.split()
            if words[:1] != ["postgres:"]:
                continue
            words = words[2:] if len(words) > 1 and words[1].endswith(":") else words[1:]
            if len(words) >= 2 and words[1] == database:
                found[int(entry.name)] = process_cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return found


class RssWatch:
    """A process's VmRSS every `every` seconds inside `with` (nothing without a pid),
    from a task on the running loop: reading /proc costs microseconds, so it cannot slow
    the clients sharing the loop."""

    def __init__(self, pid: int | None, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.samples: list[int] = []
        self.task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        assert self.pid is not None
        while True:
            self.samples.append(process_memory_kb(self.pid)["VmRSS"])
            await asyncio.sleep(self.every)

    def __enter__(self) -> RssWatch:
        if self.pid is not None:
            self.task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()
            assert self.pid is not None
            self.samples.append(process_memory_kb(self.pid)["VmRSS"])

    def summary(self) -> dict[str, Any] | None:
        if not self.samples:
            return None
        start, peak, end = self.samples[0], max(self.samples), self.samples[-1]
        return {
            "rss_start_mb": round(start / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1),
            "rss_end_mb": round(end / 1024, 1),
            "rss_growth_mb": round((peak - start) / 1024, 1),
            "rss_end_minus_start_mb": round((end - start) / 1024, 1),
            "samples": len(self.samples),
        }


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max of durations given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "n": len(ms),
        "p50_ms": rounded(percentile(ms, 50)),
        "p95_ms": rounded(percentile(ms, 95)),
        "p99_ms": rounded(percentile(ms, 99)),
        "min_ms": rounded(min(ms)) if ms else None,
        "max_ms": rounded(max(ms)) if ms else None,
    }


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def seed_records(
    class_id: str,
    count: int,
    *,
    start: int = 0,
    students: int = STUDENTS,
    spread: timedelta = SPREAD,
    end: datetime | None = None,
    event_ids: bool = False,
    chronological_of: int | None = None,
    rng: random.Random | None = None,
) -> list[dict[str, Any]]:
    """Records in the seed's REST shape, timestamps spread over `spread` before `end`:
    at random, or, with `chronological_of=total`, record i of `total` at about i/total of
    the way through (records arrive in time order, as a live class sends them)."""
    rng = rng or random.Random(f"{class_id}:{start}")
    end = end or datetime.now(UTC) - timedelta(minutes=1)
    seconds = spread.total_seconds()
    out = []
    for i in range(start, start + count):
        if chronological_of:
            back = seconds * (1 - (i + rng.random()) / chronological_of)
        else:
            back = rng.random() * seconds
        record: dict[str, Any] = {
            "class_id": class_id,
            "student_id": f"st-{i % students:03d}",
            "stuck": int(rng.random() < 0.3),
            "got_it": int(rng.random() < 0.6),
            "pause": int(rng.random() < 0.2),
            "example": int(rng.random() < 0.4),
            "confidence": rng.randint(1, 10),
            "timestamp": iso(end - timedelta(seconds=back)),
        }
        if event_ids:
            record["event_id"] = f"{class_id}:{i}"
        out.append(record)
    return out


async def population(client: httpx.AsyncClient, class_id: str) -> int:
    """The class's record count, from the seed's `GET /mastery/{class_id}`."""
    response = await client.get(f"/mastery/{class_id}")
    response.raise_for_status()
    return int(response.json()["population"])


async def post_ingest(client: httpx.AsyncClient, body: bytes) -> dict[str, Any]:
    response = await client.post(
        "/ingest/json", content=body, headers={"Content-Type": "application/json"}
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /ingest/json: {response.status_code} {response.text[:300]}")
    return response.json()


async def load_class(
    args: argparse.Namespace,
    class_id: str,
    size: int,
    *,
    batch: int = MAX_BATCH,
    clients: int = 2,
) -> dict[str, Any]:
    """Bring `class_id` up to `size` records through POST /ingest/json.

    Records arrive in time order over the last 14 days, as a live class sends them, so
    the table is laid out as in production. They carry deterministic event ids, so an
    interrupted load can simply be run again: what was stored comes back as duplicates."""
    async with async_client(args, connections=clients) as client:
        have = await population(client, class_id)
        if have >= size:
            progress(f"{class_id}: {have:,} records already stored, not loading")
            return {"class_id": class_id, "loaded": 0, "population": have}
        progress(f"{class_id}: {have:,} records stored, loading up to {size:,}")
        end = datetime.now(UTC) - timedelta(minutes=1)
        starts: asyncio.Queue[int] = asyncio.Queue()
        for offset in range(0, size, batch):
            starts.put_nowait(offset)
        stored = 0
        began = time.perf_counter()
        last_report = began

        async def worker() -> None:
            nonlocal stored, last_report
            while True:
                try:
                    offset = starts.get_nowait()
                except asyncio.QueueEmpty:
                    return
                count = min(batch, size - offset)
                body = orjson.dumps(
                    seed_records(
                        class_id,
                        count,
                        start=offset,
                        end=end,
                        event_ids=True,
                        chronological_of=size,
                    )
                )
                answer = await post_ingest(client, body)
                if answer["errors"]:
                    raise RuntimeError(f"records refused: {answer['errors'][:3]}")
                stored += answer["rows_ok"]
                now = time.perf_counter()
                if now - last_report > 5:
                    last_report = now
                    done = size - starts.qsize() * batch
                    progress(
                        f"{class_id}: ~{min(done, size):,}/{size:,} sent "
                        f"({stored / (now - began):,.0f} new records/s)"
                    )

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
        final = await population(client, class_id)
        progress(f"{class_id}: {final:,} records after {elapsed:.1f} s")
        return {
            "class_id": class_id,
            "loaded": stored,
            "population": final,
            "seconds": round(elapsed, 2),
        }


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


# From the moment a bench starts (it imports this module first).
_STOLEN = StolenTime()


def feature_rows(rng: random.Random, size: int) -> list[dict[str, float]]:
    """Score-model features for `size` students, in the ranges of the synthetic data."""
    return [
        {
            "comprehension": round(rng.uniform(30, 100), 3),
            "attention": round(rng.uniform(30, 100), 3),
            "focus": round(rng.uniform(30, 100), 3),
            "retention": round(rng.uniform(30, 100), 3),
            "engagementTime": round(rng.uniform(20, 180), 3),
        }
        for _ in range(size)
    ]
