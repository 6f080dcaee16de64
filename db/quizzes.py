"""Quizzes with their questions (answer keys included), and graded attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.lateral import newest_per_student
from db.tables import quiz_attempts, quiz_questions, quizzes, students
from ml.quiz import ContentSource, QuestionType, QuizDraft, QuizQuestion

Row = dict[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


async def store_quiz(
    conn: AsyncConnection,
    *,
    task_id: str,
    draft: QuizDraft,
    source: ContentSource,
    student_id: str | None,
) -> str:
    """Store the task's quiz once: a retried job finds and returns the first one."""
    quiz_id = new_id()
    stored = (
        await conn.execute(
            pg_insert(quizzes)
            .values(
                id=quiz_id,
                task_id=task_id,
                topic=draft.topic,
                difficulty=draft.difficulty.value,
                source=source.value,
                student_id=student_id,
            )
            .on_conflict_do_nothing(index_elements=["task_id"])
            .returning(quizzes.c.id)
        )
    ).scalar()
    if stored is None:
        return (
            await conn.execute(select(quizzes.c.id).where(quizzes.c.task_id == task_id))
        ).scalar_one()
    await conn.execute(
        insert(quiz_questions),
        [
            {
                "id": new_id(),
                "quiz_id": quiz_id,
                "number": q.number,
                "text": q.text,
                "type": q.type.value,
                "options": list(q.options),
                "skill": q.skill,
                "expected": list(q.expected),
                "key_terms": list(q.key_terms),
            }
            for q in draft.questions
        ],
    )
    return quiz_id


def as_quiz_question(row: Row) -> QuizQuestion:
    """A stored question with its answer key, as grading reads it."""
    return QuizQuestion(
        number=row["number"],
        text=row["text"],
        type=QuestionType(row["type"]),
        options=tuple(row["options"]),
        skill=row["skill"],
        expected=tuple(row["expected"]),
        key_terms=tuple(row["key_terms"]),
    )


async def quizzes_by_id(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(quizzes).where(quizzes.c.id.in_(list(ids))))).mappings()
        return {row["id"]: dict(row) for row in rows}


async def questions_of(engine: AsyncEngine, quiz_ids: Sequence[str]) -> dict[str, list[Row]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(quiz_questions)
            .where(quiz_questions.c.quiz_id.in_(list(quiz_ids)))
            .order_by(quiz_questions.c.quiz_id, quiz_questions.c.number)
        )
        found: dict[str, list[Row]] = {}
        for row in rows.mappings():
            found.setdefault(row["quiz_id"], []).append(dict(row))
        return found


async def lock_student(conn: AsyncConnection, student_id: str) -> None:
    """Create the student if new and hold its row, so a student's XP and streak are
    computed from one submission at a time."""
    await conn.execute(pg_insert(students).values(id=student_id).on_conflict_do_nothing())
    await conn.execute(select(students.c.id).where(students.c.id == student_id).with_for_update())


async def latest_attempt(conn: AsyncConnection, student_id: str) -> Row | None:
    row = (
        (
            await conn.execute(
                select(quiz_attempts)
                .where(quiz_attempts.c.student_id == student_id)
                .order_by(quiz_attempts.c.submitted_at.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def store_attempt(conn: AsyncConnection, values: Row) -> Row:
    row = (
        (await conn.execute(insert(quiz_attempts).values(**values).returning(*quiz_attempts.c)))
        .mappings()
        .one()
    )
    return dict(row)


async def attempts_by_id(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, Row]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(quiz_attempts).where(quiz_attempts.c.id.in_(list(ids))))
        return {row["id"]: dict(row) for row in rows.mappings()}


async def attempts_of_students(
    engine: AsyncEngine, student_ids: Sequence[str], limit: int
) -> dict[str, list[Row]]:
    """Newest first, up to `limit` per student."""
    return await newest_per_student(engine, quiz_attempts, "submitted_at DESC", student_ids, limit)


async def scores_before(
    conn: AsyncConnection, student_id: str, attempt_id: str, limit: int = 10
) -> list[float]:
    """The student's earlier scores, oldest first: the trend a profile may mention."""
    rows = await conn.execute(
        select(quiz_attempts.c.score)
        .where(quiz_attempts.c.student_id == student_id, quiz_attempts.c.id != attempt_id)
        .order_by(quiz_attempts.c.submitted_at.desc())
        .limit(limit)
    )
    return [row.score for row in rows][::-1]
