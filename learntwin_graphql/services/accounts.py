"""Accounts and keys: registration, sign-in with its attempt limits, linking a learner
to an existing student, API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from db import identity
from learntwin_graphql import auth, permissions
from learntwin_graphql.auth import Principal, Role
from learntwin_graphql.config import Settings
from learntwin_graphql.errors import BadUserInput, NotFound, RateLimited, Unauthenticated
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services.inputs import clean_email, clean_id, required_id
from learntwin_graphql.throttle import Decision, Limit

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
NAME_MAX = 100
LOGIN_WINDOW = 900  # seconds
REGISTER_WINDOW = 3600


@dataclass(frozen=True)
class SignedIn:
    token: str
    user: dict[str, Any]


@dataclass(frozen=True)
class NewKey:
    key: str  # the secret, shown once
    name: str
    role: Role


def _refused(what: str, decision: Decision) -> RateLimited:
    return RateLimited(
        f"Too many {what}; try again in {decision.retry_after} s.",
        retryAfter=decision.retry_after,
    )


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadUserInput(
            f"`password` must be {MIN_PASSWORD}..{MAX_PASSWORD} characters.", field="password"
        )


async def register(
    runtime: Runtime, client: str, email: str, password: str, student_id: str | None
) -> SignedIn:
    """A LEARNER with a student of its own: a fresh id, or `student_id` when no student
    has it yet. An existing student is never reached this way (staff link accounts)."""
    email = clean_email(email)
    _check_password(password)
    student = clean_id(student_id, "studentId") or f"s-{secrets.token_hex(6)}"
    settings = runtime.settings
    # Counted before the (deliberately slow) hash, so a flood costs no CPU.
    decision = await runtime.limiter.take(
        [Limit(f"register:{client}", settings.registrations_per_address, REGISTER_WINDOW)]
    )
    if not decision.granted:
        raise _refused("accounts created from this address", decision)
    password_hash = await auth.hash_password(password)
    try:
        row = await identity.create_user(
            runtime.engine,
            email=email,
            password_hash=password_hash,
            role=Role.LEARNER.value,
            student_id=student,
            new_student=True,
        )
    except identity.EmailTaken:
        raise BadUserInput("An account with this email already exists.", field="email") from None
    except (identity.StudentExists, identity.StudentTaken):
        raise BadUserInput(
            "This student already exists; staff link an account to it with linkStudent.",
            field="studentId",
        ) from None
    return SignedIn(auth.issue_token(row, settings), row)


def _login_limits(settings: Settings, email: str, client: str) -> list[Limit]:
    """Failed logins counted per client address (however many emails it tries) and per
    email; an email's limit only stops clients that have failed on it, so a flood from
    elsewhere never locks its owner out."""
    who = hashlib.blake2b(email.strip().lower().encode(), digest_size=16).hexdigest()
    pair = f"login:pair:{who}:{client}"
    return [
        Limit(f"login:address:{client}", settings.login_failures_per_address, LOGIN_WINDOW),
        Limit(f"login:email:{who}", settings.login_failures_per_email, LOGIN_WINDOW, only_if=pair),
        Limit(pair, 0, LOGIN_WINDOW),
    ]


async def login(runtime: Runtime, client: str, email: str, password: str) -> SignedIn:
    limiter = runtime.limiter
    limits = _login_limits(runtime.settings, email, client)
    decision = await limiter.take(limits)  # counted as a failure until proven otherwise
    if not decision.granted:
        raise _refused("failed logins", decision)
    row = await identity.user_credentials(runtime.reads, email.strip())
    valid = len(password) <= MAX_PASSWORD and await auth.verify_password(
        row["password_hash"] if row else None, password
    )
    if not valid or row is None:
        raise Unauthenticated("Invalid email or password.")
    await limiter.give_back(limits)
    await limiter.reset(limits[-1:])  # this client has shown it holds the password
    return SignedIn(auth.issue_token(row, runtime.settings), row)


async def create_api_key(runtime: Runtime, principal: Principal, name: str, role: Role) -> NewKey:
    permissions.require_admin(principal)
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_MAX:
        raise BadUserInput(f"`name` must be 1..{NAME_MAX} characters.", field="name")
    key = auth.new_api_key()
    await identity.create_api_key(
        runtime.engine,
        name=cleaned,
        role=role.value,
        key_hash=auth.hash_api_key(key),
        prefix=key[:10],
        created_by=principal.user_id,
    )
    return NewKey(key, cleaned, role)


async def link_student(
    runtime: Runtime, principal: Principal, user_id: str, student_id: str
) -> dict[str, Any]:
    """Point a LEARNER account at an existing student (staff only)."""
    permissions.require_staff(principal)
    user = int(user_id) if user_id.isascii() and user_id.isdigit() else 0
    if not 0 < user < 2**63:
        raise NotFound(f"No user {user_id!r}.", field="userId")
    student = required_id(student_id, "studentId")
    try:
        return await identity.link_student(runtime.engine, user, student)
    except identity.UnknownUser:
        raise NotFound(f"No user {user_id!r}.", field="userId") from None
    except identity.NotALearner:
        raise BadUserInput(
            "Only LEARNER accounts are linked to a student.", field="userId"
        ) from None
    except identity.UnknownStudent:
        raise NotFound(f"No student {student!r}.", field="studentId") from None
    except identity.StudentTaken:
        raise BadUserInput(
            "This student is already linked to another account.", field="studentId"
        ) from None
