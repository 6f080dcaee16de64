"""Who is calling and how accounts and keys are made: viewer, register, login, createApiKey,
linkStudent."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from learntwin_graphql.auth import Role, client_address
from learntwin_graphql.context import Info
from learntwin_graphql.services import accounts

RoleEnum = strawberry.enum(Role, name="Role")


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


@strawberry.type
class IdentityQuery:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            role=principal.role, api_key_name=principal.api_key_name, user_id=principal.user_id
        )


def _signed_in(done: accounts.SignedIn) -> AuthPayload:
    return AuthPayload(token=done.token, user=User.from_row(done.user))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Create a LEARNER account with a new student of its own (a fresh id unless "
        "`studentId` names one that does not exist yet) and sign in. Limited per client "
        "address; at most one `register` or `login` per request."
    )
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        context = info.context
        return _signed_in(
            await accounts.register(
                context.runtime,
                client_address(context.request),
                input.email,
                input.password,
                input.student_id,
            )
        )

    @strawberry.mutation(
        description="Exchange an email and password for a token. Failures are limited per "
        "email and per client address (RATE_LIMITED with `retryAfter` seconds)."
    )
    async def login(self, info: Info, email: str, password: str) -> AuthPayload:
        context = info.context
        return _signed_in(
            await accounts.login(context.runtime, client_address(context.request), email, password)
        )

    @strawberry.mutation(description="ADMIN only. The secret is returned once and stored hashed.")
    async def create_api_key(self, info: Info, name: str, role: RoleEnum) -> ApiKeyPayload:
        made = await accounts.create_api_key(
            info.context.runtime, info.context.principal, name, Role(role)
        )
        return ApiKeyPayload(key=made.key, name=made.name, role=made.role)

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
        row = await accounts.link_student(
            info.context.runtime, info.context.principal, user_id, student_id
        )
        return User.from_row(row)
