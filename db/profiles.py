"""Learner profiles: every one is kept; the profile of the newest attempt is the student's
profile, whichever analysis happened to finish last."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.tables import profiles, quiz_attempts
from ml.quiz import ContentSource, ProfileDraft

Row = dict[str, Any]


async def store_profile(
    conn: AsyncConnection,
    *,
    task_id: str,
    student_id: str,
    attempt_id: str | None,
    draft: ProfileDraft,
    source: ContentSource,
    xp: int,
    streak_days: int,
) -> str:
    """Store the task's profile once: a retried job finds and returns the first one."""
    stored = (
        await conn.execute(
            pg_insert(profiles)
            .values(
                id=str(uuid.uuid4()),
                task_id=task_id,
                student_id=student_id,
                attempt_id=attempt_id,
                level=draft.level,
                summary=draft.summary,
                strengths=list(draft.strengths),
                weaknesses=list(draft.weaknesses),
                recommendations=list(draft.recommendations),
                learning_style=draft.learning_style,
                source=source.value,
                xp=xp,
                streak_days=streak_days,
            )
            .on_conflict_do_nothing(index_elements=["task_id"])
            .returning(profiles.c.id)
        )
    ).scalar()
    if stored is not None:
        return stored
    return (
        await conn.execute(select(profiles.c.id).where(profiles.c.task_id == task_id))
    ).scalar_one()


async def profiles_by_id(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(profiles).where(profiles.c.id.in_(list(ids))))
        return {row["id"]: dict(row) for row in rows.mappings()}


async def latest_profiles(engine: AsyncEngine, student_ids: Sequence[str]) -> dict[str, Row]:
    attempt = quiz_attempts.alias("attempt")
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(profiles)
            .select_from(profiles.outerjoin(attempt, attempt.c.id == profiles.c.attempt_id))
            .where(profiles.c.student_id.in_(list(student_ids)))
            .order_by(
                profiles.c.student_id,
                # Attempts of one student are serialized on the student row, so their
                # running XP total orders them even when two share a submission time.
                attempt.c.submitted_at.desc().nulls_last(),
                attempt.c.xp_total.desc().nulls_last(),
                profiles.c.created_at.desc(),
                profiles.c.id,
            )
            .ext(distinct_on(profiles.c.student_id))
        )
        return {row["student_id"]: dict(row) for row in rows.mappings()}


async def profiles_after(
    engine: AsyncEngine, student_id: str, after: tuple[datetime, str] | None, limit: int = 50
) -> list[Row]:
    """The student's profiles stored after `after` (created_at, id), oldest first."""
    query = select(profiles).where(profiles.c.student_id == student_id)
    if after is not None:
        query = query.where(tuple_(profiles.c.created_at, profiles.c.id) > tuple_(*after))
    query = query.order_by(profiles.c.created_at, profiles.c.id).limit(limit)
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings()]
