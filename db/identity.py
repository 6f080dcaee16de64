"""Users and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tables import api_keys, students, users

Row = dict[str, Any]
_USER_COLUMNS = (users.c.id, users.c.email, users.c.role, users.c.student_id, users.c.created_at)


class EmailTaken(Exception):
    pass


class StudentTaken(Exception):
    """The student is already linked to another account."""


class StudentExists(Exception):
    """The student already exists (it has data), so it cannot be a new account's own."""


class UnknownUser(Exception):
    pass


class UnknownStudent(Exception):
    pass


class NotALearner(Exception):
    pass


def _taken(exc: IntegrityError, email: str | None, student_id: str | None) -> Exception:
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", "") or str(
        exc.orig
    )
    if "email" in constraint:
        return EmailTaken(email)
    if "student_id" in constraint:
        return StudentTaken(student_id)
    return exc


async def create_user(
    engine: AsyncEngine,
    *,
    email: str,
    password_hash: str,
    role: str,
    student_id: str | None,
    new_student: bool = False,
) -> Row:
    """A user, linked to `student_id` when given. With `new_student` the student must not
    exist yet (self-service registration); otherwise an existing one is linked (staff)."""
    try:
        async with engine.begin() as conn:
            if student_id is not None:
                created = await conn.execute(
                    pg_insert(students)
                    .values(id=student_id)
                    .on_conflict_do_nothing()
                    .returning(students.c.id)
                )
                if new_student and created.first() is None:
                    raise StudentExists(student_id)
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
        raise _taken(exc, email, student_id) from None
    return dict(row)


async def link_student(engine: AsyncEngine, user_id: int, student_id: str) -> Row:
    """Point a LEARNER account at an existing student (not linked to anyone else)."""
    try:
        async with engine.begin() as conn:
            user = (
                (
                    await conn.execute(
                        select(*_USER_COLUMNS).where(users.c.id == user_id).with_for_update()
                    )
                )
                .mappings()
                .first()
            )
            if user is None:
                raise UnknownUser(user_id)
            if user["role"] != "LEARNER":
                raise NotALearner(user_id)
            exists = await conn.execute(select(students.c.id).where(students.c.id == student_id))
            if exists.first() is None:
                raise UnknownStudent(student_id)
            row = (
                (
                    await conn.execute(
                        update(users)
                        .where(users.c.id == user_id)
                        .values(student_id=student_id)
                        .returning(*_USER_COLUMNS)
                    )
                )
                .mappings()
                .one()
            )
    except IntegrityError as exc:
        raise _taken(exc, None, student_id) from None
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
