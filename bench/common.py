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
import random
import sys
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
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
