"""Users and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import api_keys, students, users

Row = dict[str, Any]
_USER_COLUMNS = (users.c.id, users.c.email, users.c.role, users.c.student_id, users.c.created_at)


class EmailTaken(Exception):
    pass


class StudentTaken(Exception):
    pass


async def create_user(
    engine: AsyncEngine, *, email: str, password_hash: str, role: str, student_id: str | None
) -> Row:
    try:
        async with engine.begin() as conn:
            if student_id is not None:
                await conn.execute(
                    pg_insert(students).values(id=student_id).on_conflict_do_nothing()
                )
            row = (
                (
                    await conn.execute(
                        insert(users)
                        .values(
                            email=email,
                            password_hash=password_hash,
                            role=role,
                            student_id=student_id,
                        )
                        .returning(*_USER_COLUMNS)
                    )
                )
                .mappings()
                .one()
            )
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", "") or str(
            exc.orig
        )
        if "email" in constraint:
            raise EmailTaken(email) from None
        if "student_id" in constraint:
            raise StudentTaken(student_id) from None
        raise
    return dict(row)


async def user_credentials(engine: AsyncEngine, email: str) -> Row | None:
    """The user with this email (any case) and its password hash."""
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(*_USER_COLUMNS, users.c.password_hash).where(
                        func.lower(users.c.email) == email.lower()
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


async def users_by_id(engine: AsyncEngine, ids: Sequence[int]) -> dict[int, Row]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(*_USER_COLUMNS).where(users.c.id.in_(ids)))).mappings()
        return {row["id"]: dict(row) for row in rows}


async def create_api_key(
    engine: AsyncEngine, *, name: str, role: str, key_hash: str, prefix: str, created_by: int | None
) -> Row:
    async with engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    insert(api_keys)
                    .values(
                        name=name,
                        role=role,
                        key_hash=key_hash,
                        prefix=prefix,
                        created_by=created_by,
                    )
                    .returning(
                        api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.created_at
                    )
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def api_key_by_hash(engine: AsyncEngine, key_hash: str) -> Row | None:
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(api_keys.c.id, api_keys.c.name, api_keys.c.role).where(
                        api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None
