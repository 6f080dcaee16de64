"""CSV export of the 1M-record class: rows/s and the server's peak RSS growth.

    python bench/export.py --url http://127.0.0.1:8000 --api-key devkey --pid PID
        [--class-id bench-m-1m] [--size 1000000] [--skip-load]

PID is the API server process, e.g. `pgrep -f "learntwin serve"` (the uvicorn process
that serves the app; with --reload it is the child, not the reloader). Its
/proc/PID/status VmRSS is sampled every 20 ms while the body streams; the report gives
max(VmRSS) - VmRSS before the request, and VmHWM (the kernel's peak) before and after.
Without --pid the script looks for a single `learntwin … serve` process itself; the
server must run on this machine for the memory figures.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import MASTERY_CLASSES, emit, find_server_pid, headers, load_class, parser, progress

SAMPLE_EVERY = 0.020
TARGETS = {"rows_per_s": 150_000, "rss_growth_mb": 50}


def status_kb(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


class Sampler(threading.Thread):
    """Reads VmRSS every 20 ms until stopped; a thread, so the download never delays it."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(status_kb(self.pid)["VmRSS"])
            self.stopped.wait(SAMPLE_EVERY)


def download(args: Any, class_id: str) -> dict[str, Any]:
    size = rows = newlines = 0
    first_byte: float | None = None
    with httpx.Client(
        base_url=args.url, headers=headers(args.api_key), timeout=httpx.Timeout(300, connect=10)
    ) as client:
        began = time.perf_counter()
        with client.stream("GET", f"/export/{class_id}.csv") as response:
            if response.status_code != 200:
                response.read()
                raise SystemExit(f"export: {response.status_code} {response.text[:300]}")
            for chunk in response.iter_raw(1 << 16):
                if first_byte is None:
                    first_byte = time.perf_counter() - began
                size += len(chunk)
                newlines += chunk.count(b"\n")
        elapsed = time.perf_counter() - began
    rows = max(newlines - 1, 0)  # minus the header line
    return {
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 3),
        "first_byte_ms": round((first_byte or 0) * 1000, 1),
        "rows_per_s": round(rows / elapsed),
        "mb_per_s": round(size / elapsed / 1e6, 1),
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--pid", type=int, default=None, help='server PID: pgrep -f "learntwin serve"')
    p.add_argument("--class-id", default=MASTERY_CLASSES[1_000_000])
    p.add_argument("--size", type=int, default=1_000_000, help="records to load when missing")
    p.add_argument("--skip-load", action="store_true")
    args = p.parse_args()

    load = None
    if not args.skip_load:
        load = asyncio.run(load_class(args, args.class_id, args.size))

    pid = args.pid or find_server_pid()
    if pid is None:
        progress('no server PID (give --pid "$(pgrep -f "learntwin serve")"): memory not measured')
    before = status_kb(pid) if pid else None
    sampler = Sampler(pid) if pid else None
    if sampler:
        sampler.start()
        time.sleep(SAMPLE_EVERY * 3)
    progress(f"exporting {args.class_id}")
    try:
        result = download(args, args.class_id)
    finally:
        if sampler:
            sampler.stopped.set()
            sampler.join()
    memory = None
    if pid and before and sampler:
        after = status_kb(pid)
        peak = max(sampler.samples, default=before["VmRSS"])
        memory = {
            "pid": pid,
            "samples": len(sampler.samples),
            "rss_before_mb": round(before["VmRSS"] / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1),
            "rss_after_mb": round(after["VmRSS"] / 1024, 1),
            "rss_growth_mb": round((peak - before["VmRSS"]) / 1024, 1),
            "hwm_before_mb": round(before["VmHWM"] / 1024, 1),
            "hwm_after_mb": round(after["VmHWM"] / 1024, 1),
        }
    emit(
        {
            "bench": "export",
            "url": args.url,
            "class_id": args.class_id,
            **result,
            "memory": memory,
            "targets": TARGETS,
            "meets_target": {
                "rows_per_s": result["rows_per_s"] >= TARGETS["rows_per_s"],
                "rss_growth_mb": None
                if memory is None
                else memory["rss_growth_mb"] <= TARGETS["rss_growth_mb"],
            },
            "load": load,
        }
    )


if __name__ == "__main__":
    main()
