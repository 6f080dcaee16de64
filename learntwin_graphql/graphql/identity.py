"""Who is calling and how accounts and keys are made: viewer, register, login, createApiKey."""

from __future__ import annotations

import re
import secrets
from typing import Any

import strawberry

from db import identity
from learntwin_graphql import auth, throttle
from learntwin_graphql.auth import Role
from learntwin_graphql.context import Info
from learntwin_graphql.errors import BadUserInput, RateLimited, Unauthenticated

RoleEnum = strawberry.enum(Role, name="Role")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
ID_MAX = 64
LOGIN_LIMIT = 10
LOGIN_WINDOW_SECONDS = 900


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


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Create a LEARNER account linked to a student.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        email = _check_email(input.email)
        if not MIN_PASSWORD <= len(input.password) <= MAX_PASSWORD:
            raise BadUserInput(
                f"`password` must be {MIN_PASSWORD}..{MAX_PASSWORD} characters.", field="password"
            )
        student_id = clean_id(input.student_id, "studentId") or f"s-{secrets.token_hex(6)}"
        password_hash = await auth.hash_password(input.password)
        try:
            row = await identity.create_user(
                info.context.engine,
                email=email,
                password_hash=password_hash,
                role=Role.LEARNER.value,
                student_id=student_id,
            )
        except identity.EmailTaken:
            raise BadUserInput(
                "An account with this email already exists.", field="email"
            ) from None
        except identity.StudentTaken:
            raise BadUserInput(
                "This student is already linked to another account.", field="studentId"
            ) from None
        return AuthPayload(
            token=auth.issue_token(row, info.context.settings), user=User.from_row(row)
        )

    @strawberry.mutation
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        redis = info.context.runtime.redis
        key = f"login:{email.strip().lower()}"
        if await throttle.too_many(redis, key, limit=LOGIN_LIMIT):
            raise RateLimited("Too many failed logins; try again later.")
        row = await identity.user_credentials(info.context.engine, email.strip())
        if not await auth.verify_password(row["password_hash"] if row else None, password):
            await throttle.hit(redis, key, window_seconds=LOGIN_WINDOW_SECONDS)
            raise Unauthenticated("Invalid email or password.")
        assert row is not None
        await throttle.reset(redis, key)
        return AuthPayload(
            token=auth.issue_token(row, info.context.settings), user=User.from_row(row)
        )

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
