"""Chat sessions and messages: written on the driver connection of the caller's
transaction, read by the engine (batched) or that connection. Also what a reply is
grounded on: a learner's recent wrong answers and the expected answers of the quizzes
the learner has not submitted yet (for the answer-leak guard, never for the prompt)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from db.engine import Target, fetch, grouped, json_text, sortable_id

Row = dict[str, Any]

SESSION_COLUMNS = (
    "id, student_id, title, status, mode, preferences, lesson_id, skill_ids, message_count,"
    " last_message_at, created_at, updated_at"
)
MESSAGE_COLUMNS = (
    "id, session_id, student_id, role, content, status, source, reply_to, client_message_id,"
    " guardrails, grounding, model, prompt_tokens, completion_tokens, attempts, created_at,"
    " completed_at"
)
FINAL = ("COMPLETE", "FAILED", "CANCELLED", "BLOCKED")


async def insert_session(conn: asyncpg.Connection, fields: Row) -> Row:
    await conn.execute(
        "INSERT INTO students (id) VALUES ($1) ON CONFLICT DO NOTHING", fields["student_id"]
    )
    row = await conn.fetchrow(
        f"""
        INSERT INTO chat_sessions (id, student_id, title, status, mode, preferences,
                                   lesson_id, skill_ids)
        VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7)
        RETURNING {SESSION_COLUMNS}
        """,
        sortable_id("chat"),
        fields["student_id"],
        fields["title"],
        fields["mode"],
        json_text(fields["preferences"]),
        fields["lesson_id"],
        json_text(fields["skill_ids"]),
    )
    assert row is not None
    return dict(row)


async def update_session(conn: asyncpg.Connection, session_id: str, changes: Row) -> Row | None:
    """Set title, status and/or preferences."""
    names = [n for n in ("title", "status", "preferences") if n in changes]
    values = [json_text(changes[n]) if n == "preferences" else changes[n] for n in names]
    sets = "".join(f"{name} = ${n}, " for n, name in enumerate(names, start=2))
    row = await conn.fetchrow(
        f"UPDATE chat_sessions SET {sets}updated_at = now() WHERE id = $1"
        f" RETURNING {SESSION_COLUMNS}",
        session_id,
        *values,
    )
    return dict(row) if row is not None else None


async def delete_session(conn: asyncpg.Connection, session_id: str) -> list[str]:
    """Remove the session (its messages go with it); the ids of its replies still open."""
    rows = await conn.fetch(
        "SELECT id FROM chat_messages WHERE session_id = $1 AND role = 'ASSISTANT'"
        " AND status IN ('PENDING', 'STREAMING')",
        session_id,
    )
    await conn.execute("DELETE FROM chat_sessions WHERE id = $1", session_id)
    return [row["id"] for row in rows]


async def sessions_by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        target, f"SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE id = ANY($1::text[])", list(ids)
    )
    return {row["id"]: dict(row) for row in rows}


async def session_pages(
    target: Target, student_ids: Sequence[str], status: str | None, after: str | None, limit: int
) -> dict[str, list[Row]]:
    """Up to `limit` sessions per student, newest first, older than `after`."""
    rows = await fetch(
        target,
        f"""
        SELECT s.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {SESSION_COLUMNS} FROM chat_sessions
            WHERE student_id = o.id AND ($2::text IS NULL OR status = $2::text)
              AND ($3::text IS NULL OR id < $3::text)
            ORDER BY id DESC LIMIT $4
        ) AS s
        """,
        list(student_ids),
        status,
        after,
        limit,
    )
    return grouped(rows, "student_id")


# --- messages ----------------------------------------------------------------------------


async def pair_of(
    conn: asyncpg.Connection, session_id: str, client_message_id: str
) -> tuple[Row, Row] | None:
    """The USER message sent with this client id and the reply to it, if sent before."""
    rows = await conn.fetch(
        f"""
        SELECT {MESSAGE_COLUMNS} FROM chat_messages
        WHERE id = (SELECT id FROM chat_messages WHERE session_id = $1
                    AND client_message_id = $2)
           OR reply_to = (SELECT id FROM chat_messages WHERE session_id = $1
                          AND client_message_id = $2)
        ORDER BY id
        """,
        session_id,
        client_message_id,
    )
    found = [dict(row) for row in rows]
    user = next((r for r in found if r["role"] == "USER"), None)
    reply = next((r for r in found if r["role"] == "ASSISTANT"), None)
    return (user, reply) if user is not None and reply is not None else None


async def insert_pair(
    conn: asyncpg.Connection,
    session: Row,
    content: str,
    client_message_id: str,
    reply: Row,
) -> tuple[Row, Row]:
    """The USER message (COMPLETE) and its ASSISTANT reply (`reply`: status, content,
    source, guardrails, completed), and the session's count, time and default title."""
    # Made in the same millisecond, the two ids differ only in their random digits:
    # sorted, the reply always follows the message it answers.
    user_id, reply_id = sorted((sortable_id("msg"), sortable_id("msg")))
    user = await conn.fetchrow(
        f"""
        INSERT INTO chat_messages (id, session_id, student_id, role, content, status,
                                   client_message_id, completed_at)
        VALUES ($1, $2, $3, 'USER', $4, 'COMPLETE', $5, now())
        RETURNING {MESSAGE_COLUMNS}
        """,
        user_id,
        session["id"],
        session["student_id"],
        content,
        client_message_id,
    )
    answer = await conn.fetchrow(
        f"""
        INSERT INTO chat_messages (id, session_id, student_id, role, content, status, source,
                                   reply_to, guardrails, completed_at)
        VALUES ($1, $2, $3, 'ASSISTANT', $4, $5, $6, $7, $8,
                CASE WHEN $9::boolean THEN now() END)
        RETURNING {MESSAGE_COLUMNS}
        """,
        reply_id,
        session["id"],
        session["student_id"],
        reply["content"],
        reply["status"],
        reply["source"],
        user_id,
        json_text(reply["guardrails"]),
        reply["completed"],
    )
    await conn.execute(
        "UPDATE chat_sessions SET message_count = message_count + 2, last_message_at = now(),"
        " title = coalesce(title, left($2, 50)), updated_at = now() WHERE id = $1",
        session["id"],
        content,
    )
    assert user is not None and answer is not None
    return dict(user), dict(answer)


async def messages_by_id(target: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        target, f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = ANY($1::text[])", list(ids)
    )
    return {row["id"]: dict(row) for row in rows}


async def message_pages(
    target: Target,
    session_ids: Sequence[str],
    after: str | None,
    before: str | None,
    limit: int,
    newest_first: bool,
) -> dict[str, list[Row]]:
    """Up to `limit` messages per session between the cursors, oldest first (or newest
    first, to page back from the end)."""
    order = "DESC" if newest_first else "ASC"
    rows = await fetch(
        target,
        f"""
        SELECT m.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT {MESSAGE_COLUMNS} FROM chat_messages
            WHERE session_id = o.id AND ($2::text IS NULL OR id > $2::text)
              AND ($3::text IS NULL OR id < $3::text)
            ORDER BY id {order} LIMIT $4
        ) AS m
        """,
        list(session_ids),
        after,
        before,
        limit,
    )
    return grouped(rows, "session_id")


async def history(target: Target, session_id: str, before: str, limit: int) -> list[Row]:
    """The session's turns before message `before`, newest first, that may go back to the
    model: the learner's messages and the replies the model wrote itself (never fallback
    or guard replies, never unfinished ones)."""
    rows = await fetch(
        target,
        """
        SELECT role, content FROM chat_messages
        WHERE session_id = $1 AND id < $2 AND status = 'COMPLETE'
          AND (role = 'USER' OR (source = 'LLM' AND guardrails = '[]'::jsonb))
        ORDER BY id DESC LIMIT $3
        """,
        session_id,
        before,
        limit,
    )
    return [dict(row) for row in rows]


async def claim(conn: asyncpg.Connection, message_id: str) -> Row | None:
    """Start (or retry) a reply: STREAMING, one more attempt; None when it is final."""
    row = await conn.fetchrow(
        f"""
        UPDATE chat_messages SET status = 'STREAMING', attempts = attempts + 1
        WHERE id = $1 AND status IN ('PENDING', 'STREAMING')
        RETURNING {MESSAGE_COLUMNS}
        """,
        message_id,
    )
    return dict(row) if row is not None else None


async def set_content(target: asyncpg.Connection, message_id: str, content: str) -> bool:
    """The text so far of a streaming reply; False once the reply is no longer streaming
    (cancelled or finished elsewhere)."""
    status = await target.fetchval(
        "UPDATE chat_messages SET content = $2 WHERE id = $1 AND status = 'STREAMING'"
        " RETURNING status",
        message_id,
        content,
    )
    return status is not None


async def finish(conn: asyncpg.Connection, message_id: str, fields: Row) -> Row | None:
    """Store a reply's final state (content, status, source, guardrails, grounding, model,
    tokens) unless it is final already; None then."""
    row = await conn.fetchrow(
        f"""
        UPDATE chat_messages SET content = $2, status = $3, source = $4, guardrails = $5,
            grounding = $6, model = $7, prompt_tokens = $8, completion_tokens = $9,
            completed_at = now()
        WHERE id = $1 AND status IN ('PENDING', 'STREAMING')
        RETURNING {MESSAGE_COLUMNS}
        """,
        message_id,
        fields["content"],
        fields["status"],
        fields.get("source"),
        json_text(fields.get("guardrails", [])),
        json_text(fields["grounding"]) if fields.get("grounding") is not None else None,
        fields.get("model"),
        fields.get("prompt_tokens"),
        fields.get("completion_tokens"),
    )
    return dict(row) if row is not None else None


async def cancel(conn: asyncpg.Connection, message_id: str) -> Row | None:
    """CANCELLED, keeping the text so far; None when the reply is final already."""
    row = await conn.fetchrow(
        f"""
        UPDATE chat_messages SET status = 'CANCELLED', completed_at = now()
        WHERE id = $1 AND status IN ('PENDING', 'STREAMING')
        RETURNING {MESSAGE_COLUMNS}
        """,
        message_id,
    )
    return dict(row) if row is not None else None


# --- grounding -----------------------------------------------------------------------------


async def recent_mistakes(target: Target, student_id: str, limit: int) -> list[Row]:
    """The learner's newest wrong quiz answers: question id, its text and what was given
    (the expected answer is not read)."""
    rows = await fetch(
        target,
        """
        SELECT q.id AS question_id, q.text AS question, a.given
        FROM (
            SELECT x.value->>'question_id' AS question_id, x.value->'given' AS given,
                   t.submitted_at
            FROM quiz_attempts AS t, jsonb_array_elements(t.answers) AS x(value)
            WHERE t.student_id = $1 AND (x.value->>'correct')::boolean IS FALSE
            ORDER BY t.submitted_at DESC LIMIT $2
        ) AS a JOIN quiz_questions AS q ON q.id = a.question_id
        ORDER BY a.submitted_at DESC
        """,
        student_id,
        limit,
    )
    return [dict(row) for row in rows]


async def unsubmitted_answers(target: Target, student_id: str) -> list[str]:
    """Expected answers of the quizzes made for the learner, or graded by lessons of the
    learner's courses, that the learner has not submitted yet."""
    rows = await fetch(
        target,
        """
        SELECT DISTINCT e.value AS answer
        FROM quizzes AS z
        JOIN quiz_questions AS q ON q.quiz_id = z.id
        CROSS JOIN LATERAL jsonb_array_elements_text(q.expected) AS e(value)
        WHERE (z.student_id = $1 OR z.id IN (
                  SELECT l.quiz_id FROM lessons AS l
                  JOIN enrollments AS n ON n.course_id = l.course_id
                  WHERE n.student_id = $1 AND n.status <> 'DROPPED' AND l.quiz_id IS NOT NULL))
          AND NOT EXISTS (SELECT 1 FROM quiz_attempts AS t
                          WHERE t.quiz_id = z.id AND t.student_id = $1)
        """,
        student_id,
    )
    return [row["answer"] for row in rows]


async def unfinished_replies(target: Target, older_than_seconds: float) -> list[Row]:
    """Replies still PENDING or STREAMING that were sent more than that long ago."""
    rows = await fetch(
        target,
        f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE role = 'ASSISTANT'"
        " AND status IN ('PENDING', 'STREAMING')"
        " AND created_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 100",
        older_than_seconds,
    )
    return [dict(row) for row in rows]
