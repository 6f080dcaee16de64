"""Run the client examples (examples/clients: Apollo Client 4 and urql) against a server:
queries, automatic persisted queries and subscriptions over graphql-ws, as a frontend
uses them. Needs Node 20 and npm; prints one JSON object and exits non-zero on failure.

    python examples/run_clients.py                 # starts `learntwin serve` (embedded)
    python examples/run_clients.py --url http://127.0.0.1:8000/graphql --api-key KEY

Without --url it starts a server of its own on a free port (embedded Postgres and Redis
unless DATABASE_URL / REDIS_URL are set) and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "clients"
CLASS_ID = "examples-class"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, api_key: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json", "X-API-Key": api_key}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _start_server(api_key: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    data = Path(tempfile.mkdtemp(prefix="learntwin-examples-"))
    env = {**os.environ, "API_KEY": api_key, "LEARNTWIN_DATA_DIR": str(data / "data")}
    command = [str(Path(sys.executable).with_name("learntwin")), "serve", "--port", str(port)]
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server, f"http://127.0.0.1:{port}/graphql", data
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"the server did not start; see {data / 'server.log'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server's /graphql URL")
    parser.add_argument("--api-key", default="examples-admin-key", help="an ADMIN API key")
    args = parser.parse_args()
    if shutil.which("node") is None or shutil.which("npm") is None:
        print(json.dumps({"skipped": "node and npm are needed for the client examples"}))
        return 0
    if not (HERE / "node_modules").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    server = data = None
    url = args.url
    if url is None:
        server, url, data = _start_server(args.api_key)
    try:
        record = {
            "classId": CLASS_ID,
            "studentId": "examples-student",
            "stuck": False,
            "gotIt": True,
            "pause": False,
            "example": False,
            "confidence": 6.0,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        _post(
            url,
            args.api_key,
            "mutation($r: [MetricInput!]!) { ingestMetrics(records: $r) { accepted } }",
            {"r": [record]},
        )
        results = []
        for script in ("apollo.mjs", "urql.mjs"):
            done = subprocess.run(
                ["node", script, url, args.api_key, CLASS_ID],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=120,
            )
            line = (done.stdout.strip().splitlines() or ["{}"])[-1]
            try:
                outcome = json.loads(line)
            except ValueError:
                outcome = {"client": script, "output": done.stdout[-2000:]}
            outcome["ok"] = done.returncode == 0
            if done.returncode:
                outcome["stderr"] = done.stderr[-2000:]
            results.append(outcome)
        print(json.dumps({"url": url, "clients": results}, indent=2))
        return 0 if all(r["ok"] for r in results) else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        if data is not None:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
