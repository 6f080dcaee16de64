"""Automatic persisted queries, as Apollo's PersistedQueryLink sends them.

A client sends `extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`
(in a POST body, or URL-encoded in a GET's `extensions` parameter), first without the
document. A hash stored here is run as its document; an unknown one is answered with
`PersistedQueryNotFound` (`extensions.code` PERSISTED_QUERY_NOT_FOUND), and the client
sends the same request again with the document, which is checked against the hash,
stored in Redis for a day and run.

The store is a cache, never a dependency: with Redis down a hash alone is "not found"
(the client then sends the document, which is run) and a document is run without being
stored. Documents above `MAX_DOCUMENT_BYTES` are run but not stored.

HTTP statuses: PERSISTED_QUERY_NOT_FOUND is a 200 for every media type (Apollo's link
retries on the error itself, while its default `disable` turns persisted queries off for
good on a 400 or a 500); a version other than 1 (PERSISTED_QUERY_NOT_SUPPORTED), a hash
that is not 64 hex digits or does not match the document
(PERSISTED_QUERY_HASH_MISMATCH) are 400s.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from typing import Any

from redis.exceptions import RedisError

from learntwin_graphql.errors import BAD_USER_INPUT

log = logging.getLogger("learntwin.apq")

# Redis keys: the prefix, then the document's SHA-256 in lowercase hex.
APQ_PREFIX = "learntwin:apq:"
MAX_DOCUMENT_BYTES = 100_000
TTL_SECONDS = 24 * 3600
VERSION = 1

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# A lookup or a store waits this long at most: a Redis that hangs must not hold requests.
_REDIS_TIMEOUT = 2.0


class PersistedQueryError(Exception):
    """A persisted-query request the server answers with one GraphQL error, before any
    execution: `status` is the HTTP status, `code` its `extensions.code`."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def is_persisted(extensions: dict[str, Any] | None) -> bool:
    return extensions is not None and "persistedQuery" in extensions


class PersistedQueries:
    """Documents by hash in Redis (`APQ_PREFIX` + hash, each with a TTL)."""

    def __init__(
        self,
        redis: Any,
        *,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        ttl_seconds: int = TTL_SECONDS,
    ) -> None:
        self.redis = redis
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds

    async def resolve(self, query: str | None, persisted: object) -> tuple[str, str | None]:
        """The document to run for a request with `extensions.persistedQuery`, and the
        hash to store it under once it parses (None: nothing to store)."""
        if not isinstance(persisted, dict):
            raise PersistedQueryError(
                "`extensions.persistedQuery` must be an object.", BAD_USER_INPUT, 400
            )
        version = persisted.get("version")
        if type(version) is not int or version != VERSION:
            raise PersistedQueryError(
                f"Persisted query version {version!r} is not supported: only version "
                f"{VERSION} (PersistedQueryNotSupported).",
                PERSISTED_QUERY_NOT_SUPPORTED,
                400,
            )
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise PersistedQueryError(
                "`extensions.persistedQuery.sha256Hash` must be a SHA-256 in hex (64 digits).",
                BAD_USER_INPUT,
                400,
            )
        sha = sha.lower()
        if not query:
            stored = await self.lookup(sha)
            if stored is None:
                raise PersistedQueryError("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND, 200)
            return stored, None
        if document_hash(query) != sha:
            raise PersistedQueryError(
                "The persisted query's sha256Hash does not match the SHA-256 of `query`.",
                PERSISTED_QUERY_HASH_MISMATCH,
                400,
            )
        return query, sha

    async def lookup(self, sha: str) -> str | None:
        try:
            async with asyncio.timeout(_REDIS_TIMEOUT):
                value = await self.redis.get(APQ_PREFIX + sha)
        except (RedisError, OSError, TimeoutError):
            log.warning("persisted query not looked up: Redis unavailable", exc_info=True)
            return None
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "surrogatepass")
        return str(value)

    async def store(self, sha: str, query: str) -> bool:
        """Keep `query` under `sha` for the TTL; False when too large or Redis is down."""
        encoded = query.encode("utf-8", "surrogatepass")
        if len(encoded) > self.max_bytes:
            return False
        try:
            async with asyncio.timeout(_REDIS_TIMEOUT):
                await self.redis.set(APQ_PREFIX + sha, encoded, ex=self.ttl_seconds)
        except (RedisError, OSError, TimeoutError):
            log.warning("persisted query not stored: Redis unavailable", exc_info=True)
            return False
        return True
