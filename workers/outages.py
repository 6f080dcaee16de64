"""Telling an outage (Postgres or Redis out of reach) from a failure of the work itself.

The retry policy depends on it: an outage is nobody's fault and is waited out until the
task's deadline, while a failure of the work counts as one of its tries."""

from __future__ import annotations

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa

# What a server that is down, restarting or refusing connections raises, directly or as
# the cause of SQLAlchemy's wrapper. Connection errors surface raw from the pool's
# connect (ConnectionRefusedError on TCP, FileNotFoundError on a unix socket), hence
# OSError; query cancellations and constraint errors are deliberately absent.
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    RedisConnectionError,
    RedisTimeoutError,
    sa.OperationalError,
    sa.TimeoutError,  # the pool's checkout timeout: connections are not coming back
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


class BookkeepingStalled(Exception):
    """A try's own bookkeeping (marking the task in Postgres, notifying over Redis) did
    not finish within the try's time budget: a server that hangs rather than refuses."""


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, says a server is out of reach.

    Only explicit causes (`raise … from`, as SQLAlchemy and its asyncpg adapter do) are
    followed, never the implicit context, so that a work failure raised while some
    connection error was being handled is not mistaken for an outage. The built-in
    TimeoutError is an OSError but means a slow try, so it is not an outage."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BookkeepingStalled):
            return True
        if isinstance(current, _OUTAGES) and not isinstance(current, TimeoutError):
            return True
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__
    return False


def describe(exc: BaseException) -> str:
    """One line for logs and the task's `error`: the type, and the message when there is one."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
