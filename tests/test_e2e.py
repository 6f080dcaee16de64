"""End to end: `learntwin serve --demo` as a user runs it, fully embedded, restarted once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.conftest import PROTOCOL, free_port

pytestmark = pytest.mark.slow

DEV_KEY = "devkey"
VIEWER = "{ viewer { role apiKeyName } }"
CREATE_KEY = (
    "mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { key name role } }"
)
# Variables that would point the server at outside services or change its defaults.
_CONFIG_VARIABLES = {"DATABASE_URL", "REDIS_URL", "API_KEY", "JWT_SECRET"}
_CONFIG_PREFIXES = ("TEST_", "LEARNTWIN_")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def _command() -> list[str]:
    script = Path(sys.executable).with_name("learntwin")  # the venv's console script
    return [str(script)] if script.exists() else [sys.executable, "-m", "learntwin_graphql.cli"]


def _wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{details()}")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Server:
    """One `learntwin serve --demo` process on a free port, its output in a log file."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in _CONFIG_VARIABLES and not name.startswith(_CONFIG_PREFIXES)
        }
        env["LEARNTWIN_DATA_DIR"] = str(self.data_dir)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*_command(), "serve", "--port", str(self.port), "--demo"],
                env=env,
                cwd=self.data_dir.parent,  # away from the repository's `.env`, if any
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_until(self._healthy, START_TIMEOUT, "/healthz", self.output)

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}\n{self.output()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """SIGTERM, then a bounded wait for the graceful exit that uvicorn makes of it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"no exit {STOP_TIMEOUT} s after SIGTERM\n{self.output()}"
            ) from None
        # uvicorn re-raises the signal once its shutdown is done, hence -SIGTERM.
        assert code in (0, -signal.SIGTERM), f"exit code {code}\n{self.output()}"
        assert "Application shutdown complete." in self.output(), self.output()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def postgres_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
        return int(pid_file.read_text().splitlines()[0])
    return None


def redis_pid(data_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        registry = json.loads((data_dir / "redis.rdb.settings").read_text())
        return int(Path(registry["pidfile"]).read_text().strip())
    return None


def reap_embedded(data_dir: Path) -> None:
    """Stop whatever embedded server a failed run left behind: both detach from the
    server's session, so killing the server's process group does not reach them."""
    pids: list[int] = []
    if (pid := postgres_pid(data_dir)) is not None:
        pids.append(pid)
    if (pid := redis_pid(data_dir)) is not None:
        pids.append(pid)
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            process.terminate()
            try:
                process.wait(timeout=10)
            except psutil.TimeoutExpired:
                process.kill()


def graphql(
    server: Server, query: str, variables: dict[str, Any] | None = None, *, api_key: str
) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"X-API-Key": api_key},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@contextlib.contextmanager
def websocket(server: Server) -> Iterator[ClientConnection]:
    with ws_connect(
        f"ws://127.0.0.1:{server.port}/graphql",
        subprotocols=[Subprotocol(PROTOCOL)],
        open_timeout=10,
        close_timeout=5,
    ) as ws:
        yield ws


def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next protocol message, skipping keep-alive pings."""
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "ping":
            ws.send(json.dumps({"type": "pong"}))
        elif message["type"] != "pong":
            return message


def test_serve_demo_end_to_end_and_data_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Server(data_dir, tmp_path / "serve-1.log")
    second = Server(data_dir, tmp_path / "serve-2.log")
    try:
        first.start()

        def has_worker() -> bool:
            response = httpx.get(f"{first.url}/readyz", timeout=5)
            return response.status_code == 200 and (response.json().get("workers") or 0) >= 1

        _wait_until(has_worker, 15, "a worker heartbeat in /readyz", first.output)

        viewer = graphql(first, VIEWER, api_key=DEV_KEY)["viewer"]
        assert viewer == {"role": "ADMIN", "apiKeyName": "API_KEY"}
        made = graphql(first, CREATE_KEY, {"n": "e2e", "r": "INSTRUCTOR"}, api_key=DEV_KEY)
        instructor_key = made["createApiKey"]["key"]
        assert made["createApiKey"]["role"] == "INSTRUCTOR"

        with websocket(first) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": DEV_KEY}}))
            assert receive(ws) == {"type": "connection_ack", "payload": {"role": "ADMIN"}}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}}))
            assert receive(ws) == {
                "id": "1",
                "type": "next",
                "payload": {"data": {"viewer": {"role": "ADMIN", "apiKeyName": "API_KEY"}}},
            }
            assert receive(ws) == {"id": "1", "type": "complete"}

        for init in ({"type": "connection_init"}, {"type": "connection_init", "payload": {}}):
            with websocket(first) as ws:
                ws.send(json.dumps(init))
                with pytest.raises(ConnectionClosed) as closed:
                    receive(ws)
                assert closed.value.rcvd is not None, init
                assert closed.value.rcvd.code == 4403, init

        pg_pid, rd_pid = postgres_pid(data_dir), redis_pid(data_dir)
        assert pg_pid is not None and _alive(pg_pid)
        assert rd_pid is not None and _alive(rd_pid)
        first.stop()
        # Shutting down stops what the server started: both embedded servers.
        assert not (data_dir / "postgres" / "postmaster.pid").exists()
        _wait_until(lambda: not _alive(pg_pid), 10, f"postgres {pg_pid} to exit")
        _wait_until(lambda: not _alive(rd_pid), 10, f"redis {rd_pid} to exit")

        second.start()
        viewer = graphql(second, VIEWER, api_key=instructor_key)["viewer"]
        assert viewer == {"role": "INSTRUCTOR", "apiKeyName": "e2e"}
        second.stop()
    finally:
        first.kill()
        second.kill()
        reap_embedded(data_dir)
