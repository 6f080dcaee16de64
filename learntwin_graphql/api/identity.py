"""Who is calling and how accounts and keys are made: viewer, register, login, createApiKey,
linkStudent."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from learntwin_graphql.api.docs import describe_values
from learntwin_graphql.auth import Role, client_address
from learntwin_graphql.context import Info
from learntwin_graphql.services import accounts

RoleEnum = describe_values(
    strawberry.enum(Role, name="Role", description="What a caller may do."),
    ADMIN="Everything, including API keys, model training and the prediction cache.",
    INSTRUCTOR="Staff: reads and writes every class, student and course; no API keys.",
    LEARNER="Its own student only (an account signed in with a token).",
)


@strawberry.type(description="An account that signs in with an email and a password.")
class User:
    id: strawberry.ID = strawberry.field(description="Server-made id of the account.")
    email: str = strawberry.field(description="The sign-in email, as registered.")
    role: RoleEnum = strawberry.field(description="What the account may do.")
    student_id: strawberry.ID | None = strawberry.field(
        description="The student a LEARNER account acts as; null for staff accounts."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(
            id=strawberry.ID(str(row["id"])),
            email=row["email"],
            role=Role(row["role"]),
            student_id=row["student_id"],
        )


@strawberry.type(description="Who is calling, from the request's credentials.")
class Viewer:
    role: RoleEnum | None = strawberry.field(
        description="The caller's role; null without (valid) credentials."
    )
    api_key_name: str | None = strawberry.field(
        description="The API key's name when calling with an X-API-Key; null otherwise."
    )
    user_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The signed-in account when calling with a token; null otherwise."
    )
    async def user(self, info: Info) -> User | None:
        if self.user_id is None:
            return None
        row = await info.context.loaders.user.load(self.user_id)
        return User.from_row(row) if row else None


@strawberry.input(description="A new LEARNER account.")
class RegisterInput:
    email: str = strawberry.field(description="The sign-in email; one account per email.")
    password: str = strawberry.field(description="The password; stored hashed.")
    student_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The new student's id; null: a fresh server-made id. Must not name a "
        "student that exists already.",
    )


@strawberry.type(description="A signed-in account and its token.")
class AuthPayload:
    token: str = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; expires after "
        "LEARNTWIN_JWT_TTL_MINUTES (720 by default)."
    )
    user: User = strawberry.field(description="The account signed in.")


@strawberry.type(description="A new API key.")
class ApiKeyPayload:
    key: str = strawberry.field(description="The secret, shown once.")
    name: str = strawberry.field(description="The key's name, as given.")
    role: RoleEnum = strawberry.field(description="What calls with the key may do.")


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="Who is calling; needs no credentials.")
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
    async def register(
        self,
        info: Info,
        input: Annotated[RegisterInput, strawberry.argument(description="The new account.")],
    ) -> AuthPayload:
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
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's email.")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> AuthPayload:
        context = info.context
        return _signed_in(
            await accounts.login(context.runtime, client_address(context.request), email, password)
        )

    @strawberry.mutation(description="ADMIN only. The secret is returned once and stored hashed.")
    async def create_api_key(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="A name to tell the key by.")],
        role: Annotated[RoleEnum, strawberry.argument(description="What the key may do.")],
    ) -> ApiKeyPayload:
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
