"""schema.graphql is exported from the code; it must never drift from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_matches_the_code(tmp_path):
    out = tmp_path / "schema.graphql"
    subprocess.run(
        [sys.executable, "-m", "learntwin_graphql.cli", "export-schema", "-o", str(out)],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert out.read_text() == (ROOT / "schema.graphql").read_text(), (
        "schema.graphql is stale: run `learntwin export-schema`"
    )
