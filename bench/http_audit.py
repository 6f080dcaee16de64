"""graphql-http's audit suite (the GraphQL over HTTP spec) against a LearnTwin server.

    python bench/http_audit.py --url http://127.0.0.1:8000/graphql --api-key devkey

Needs Node 20 and npm (installs graphql-http into bench/http_audit on first use); prints
one JSON object: the number of audits, counts by status (ok, notice, warn, error) and
each audit that was not ok. Without node it prints `skipped`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "http_audit"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server's /graphql URL")
    parser.add_argument("--api-key", default=None, help="sent as X-API-Key on every request")
    args = parser.parse_args()
    if shutil.which("node") is None or shutil.which("npm") is None:
        print(json.dumps({"bench": "http_audit", "skipped": "node and npm are needed"}))
        return 0
    if not (HERE / "node_modules").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=HERE,
            check=True,
            stdout=sys.stderr,
        )
    command = ["node", "audit.mjs", args.url] + ([args.api_key] if args.api_key else [])
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=300)
    if done.returncode:
        print(json.dumps({"bench": "http_audit", "error": done.stderr[-2000:]}))
        return 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps({"bench": "http_audit", "url": args.url, **result}, indent=2))
    return 0 if result["error"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
