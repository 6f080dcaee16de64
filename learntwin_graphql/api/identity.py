"""Who is calling and how accounts and keys are made: viewer, register, login, createApiKey."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Annotated, Any

import strawberry

from db import identity
from learntwin_graphql import auth
from learntwin_graphql.auth import Role, client_address
from learntwin_graphql.config import Settings
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput, NotFound, RateLimited, Unauthenticated
from learntwin_graphql.throttle import Decision, Limit

RoleEnum = strawberry.enum(Role, name="Role")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
ID_MAX = 64
LOGIN_WINDOW = 900  # seconds
REGISTER_WINDOW = 3600


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    role: RoleEnum
    student_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=strawberry.ID(str(row["id"])),
            email=row["email"],
            role=Role(row["role"]),
            student_id=row["student_id"],
        )


@strawberry.type
class Viewer:
    role: RoleEnum | None
    api_key_name: str | None
    user_id: strawberry.Private[int | None]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user.load(self.user_id)
        return User.from_row(row) if row else None


@strawberry.input
class RegisterInput:
    email: str
    password: str
    student_id: strawberry.ID | None = None


@strawberry.type
class AuthPayload:
    token: str
    user: User


@strawberry.type
class ApiKeyPayload:
    key: str = strawberry.field(description="The secret, shown once.")
    name: str
    role: RoleEnum


def clean_id(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned or len(cleaned) > ID_MAX:
        raise BadUserInput(f"`{field}` must be 1..{ID_MAX} characters.", field=field)
    return cleaned


def _check_email(email: str) -> str:
    cleaned = email.strip()
    if len(cleaned) > 254 or not EMAIL.match(cleaned):
        raise BadUserInput("`email` does not look like an email address.", field="email")
    return cleaned


@strawberry.type
class IdentityQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            role=principal.role, api_key_name=principal.api_key_name, user_id=principal.user_id
        )


def _login_limits(settings: Settings, email: str, address: str) -> list[Limit]:
    """Failed logins counted per client address (however many emails it tries) and per
    email; an email's limit only stops clients that have failed on it, so a flood from
    elsewhere never locks its owner out."""
    who = hashlib.blake2b(email.strip().lower().encode(), digest_size=16).hexdigest()
    pair = f"login:pair:{who}:{address}"
    return [
        Limit(f"login:address:{address}", settings.login_failures_per_address, LOGIN_WINDOW),
        Limit(f"login:email:{who}", settings.login_failures_per_email, LOGIN_WINDOW, only_if=pair),
        Limit(pair, 0, LOGIN_WINDOW),
    ]


def _refused(what: str, decision: Decision) -> RateLimited:
    return RateLimited(
        f"Too many {what}; try again in {decision.retry_after} s.",
        retryAfter=decision.retry_after,
    )


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Create a LEARNER account with a new student of its own (a fresh id unless "
        "`studentId` names one that does not exist yet) and sign in. Limited per client "
        "address; at most one `register` or `login` per request."
    )
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        context = info.context
        email = _check_email(input.email)
        if not MIN_PASSWORD <= len(input.password) <= MAX_PASSWORD:
            raise BadUserInput(
                f"`password` must be {MIN_PASSWORD}..{MAX_PASSWORD} characters.", field="password"
            )
        student_id = clean_id(input.student_id, "studentId") or f"s-{secrets.token_hex(6)}"
        settings = context.settings
        decision = await context.runtime.limiter.take(
            [
                Limit(
                    f"register:{client_address(context.request)}",
                    settings.registrations_per_address,
                    REGISTER_WINDOW,
                )
            ]
        )
        if not decision.granted:
            raise _refused("accounts created from this address", decision)
        password_hash = await auth.hash_password(input.password)
        try:
            row = await identity.create_user(
                context.engine,
                email=email,
                password_hash=password_hash,
                role=Role.LEARNER.value,
                student_id=student_id,
                new_student=True,
            )
        except identity.EmailTaken:
            raise BadUserInput(
                "An account with this email already exists.", field="email"
            ) from None
        except (identity.StudentExists, identity.StudentTaken):
            raise BadUserInput(
                "This student already exists; staff link an account to it with linkStudent.",
                field="studentId",
            ) from None
        return AuthPayload(token=auth.issue_token(row, settings), user=User.from_row(row))

    @strawberry.mutation(
        description="Exchange an email and password for a token. Failures are limited per "
        "email and per client address (RATE_LIMITED with `retryAfter` seconds)."
    )
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        context = info.context
        limiter = context.runtime.limiter
        limits = _login_limits(context.settings, email, client_address(context.request))
        decision = await limiter.take(limits)  # counted as a failure until proven otherwise
        if not decision.granted:
            raise _refused("failed logins", decision)
        row = await identity.user_credentials(context.engine, email.strip())
        valid = len(password) <= MAX_PASSWORD and await auth.verify_password(
            row["password_hash"] if row else None, password
        )
        if not valid or row is None:
            raise Unauthenticated("Invalid email or password.")
        await limiter.give_back(limits)
        await limiter.reset(limits[-1:])  # this client has shown it holds the password
        return AuthPayload(token=auth.issue_token(row, context.settings), user=User.from_row(row))

    @strawberry.mutation(description="ADMIN only. The secret is returned once and stored hashed.")
    async def create_api_key(self, info: Info, name: str, role: RoleEnum) -> ApiKeyPayload:
        principal = info.context.require(Role.ADMIN)
        cleaned = name.strip()
        if not cleaned or len(cleaned) > 100:
            raise BadUserInput("`name` must be 1..100 characters.", field="name")
        key = auth.new_api_key()
        await identity.create_api_key(
            info.context.engine,
            name=cleaned,
            role=Role(role).value,
            key_hash=auth.hash_api_key(key),
            prefix=key[:10],
            created_by=principal.user_id,
        )
        return ApiKeyPayload(key=key, name=cleaned, role=Role(role))

    @strawberry.mutation(
        description="Staff only. Links a LEARNER account to an existing student: the only way "
        "an account reaches a student that already has data. Tokens issued after the link "
        "carry it (log in again)."
    )
    async def link_student(
        self,
        info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The LEARNER account.")],
        student_id: Annotated[
            strawberry.ID, strawberry.argument(description="An existing student.")
        ],
    ) -> User:
        info.context.require(Role.ADMIN, Role.INSTRUCTOR)
        user = int(user_id) if user_id.isascii() and user_id.isdigit() else 0
        if not 0 < user < 2**63:
            raise NotFound(f"No user {user_id!r}.", field="userId")
        student = clean_id(student_id, "studentId")
        assert student is not None
        try:
            row = await identity.link_student(info.context.engine, user, student)
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
        return User.from_row(row)
