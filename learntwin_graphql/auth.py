"""Who is calling: API keys, JWT bearer tokens, password hashes and the Principal."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from db import identity
from learntwin_graphql.config import Settings
from learntwin_graphql.throttle import Limit, Limiter

API_KEY_PREFIX = "lt_"
_JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-the-same-work")


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    INSTRUCTOR = "INSTRUCTOR"
    LEARNER = "LEARNER"


class AuthError(Exception):
    """Credentials were presented but are not valid."""


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role | None = None
    user_id: int | None = None
    student_id: str | None = None
    api_key_name: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.role is not None


ANONYMOUS = Principal()


# --- API keys --------------------------------------------------------------


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def principal_for_stored_key(key: str, engine: AsyncEngine) -> Principal:
    """The caller behind a key made by createApiKey (stored hashed)."""
    if not key.startswith(API_KEY_PREFIX):
        raise AuthError("invalid API key")
    row = await identity.api_key_by_hash(engine, hash_api_key(key))
    if row is None:
        raise AuthError("invalid API key")
    return Principal(role=Role(row["role"]), api_key_name=row["name"])


# --- passwords -------------------------------------------------------------


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow; keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


# --- JWT -------------------------------------------------------------------


def issue_token(user: dict[str, Any], settings: Settings) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user["id"]),
        "role": user["role"],
        "sid": user["student_id"],
        "iat": now,
        "exp": now + timedelta(minutes=settings.jwt_ttl_minutes),
        "typ": "access",
    }
    return jwt.encode(claims, settings.jwt_key, algorithm=_JWT_ALGORITHM)


def principal_for_token(token: str, settings: Settings) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_key,
            algorithms=[_JWT_ALGORITHM],
            options={"require": ["sub", "exp", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    if claims.get("typ") != "access":
        raise AuthError("invalid token")
    try:
        role = Role(claims["role"])
        user_id = int(claims["sub"])
    except (ValueError, KeyError):
        raise AuthError("invalid token") from None
    return Principal(role=role, user_id=user_id, student_id=claims.get("sid"))


# --- signed links ----------------------------------------------------------


def sign_claims(claims: dict[str, Any], settings: Settings, ttl_seconds: int, purpose: str) -> str:
    """A short-lived token for one purpose (e.g. a CSV export link)."""
    now = datetime.now(UTC)
    body = {**claims, "typ": purpose, "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(body, settings.jwt_key, algorithm=_JWT_ALGORITHM)


def verify_claims(token: str, settings: Settings, purpose: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, settings.jwt_key, algorithms=[_JWT_ALGORITHM])
    except jwt.PyJWTError:
        raise AuthError("invalid or expired link") from None
    if claims.get("typ") != purpose:
        raise AuthError("invalid or expired link")
    return claims


# --- one entry point for HTTP headers and WebSocket payloads -----------------

API_KEY_WINDOW_SECONDS = 60


class TooManyAttempts(Exception):
    """This client has failed too often; it may try again after `retry_after` seconds."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many failed {what} from this address; retry in {retry_after} s")
        self.retry_after = retry_after


def client_address(connection: HTTPConnection) -> str:
    """The peer's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return connection.client.host if connection.client is not None else "unknown"


async def authenticate(
    *,
    api_key: str | None,
    authorization: str | None,
    settings: Settings,
    engine: AsyncEngine,
    limiter: Limiter | None = None,
    client: str = "unknown",
) -> Principal:
    """The caller behind these credentials; ANONYMOUS when none are given.

    With a limiter, API-key guesses are limited per client address: the attempt is
    counted before the lookup (so a burst of concurrent guesses cannot all pass) and
    given back when the key turns out to be valid."""
    if api_key:
        key = api_key.strip()
        admin = settings.admin_api_key
        if admin is not None and hmac.compare_digest(key.encode(), admin.encode()):
            return Principal(role=Role.ADMIN, api_key_name="API_KEY")
        if limiter is None:
            return await principal_for_stored_key(key, engine)
        limits = [
            Limit(
                f"api-key:{client}", settings.api_key_failures_per_address, API_KEY_WINDOW_SECONDS
            )
        ]
        decision = await limiter.take(limits)
        if not decision.granted:
            raise TooManyAttempts("API keys", decision.retry_after)
        principal = await principal_for_stored_key(key, engine)
        await limiter.give_back(limits)
        return principal
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("Authorization must be 'Bearer <token>'")
        return principal_for_token(token.strip(), settings)
    return ANONYMOUS
