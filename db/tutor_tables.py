"""Tables of the tutor: a learner's chat sessions and their messages, on the same
metadata as db.tables. Replies stream through Redis; Postgres keeps every message, its
final text, status, token usage and what it was grounded on."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from db.learning_tables import _cascade, _created, _updated
from db.tables import identifier, metadata

chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    # Null until the first message names it (its first 50 characters).
    Column("title", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("preferences", JSONB, nullable=False),
    Column("lesson_id", identifier(), ForeignKey("lessons.id", ondelete="SET NULL"), nullable=True),
    Column("skill_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("message_count", Integer, nullable=False, server_default=text("0")),
    Column("last_message_at", DateTime(timezone=True), nullable=True),
    _created(),
    _updated(),
    Index(None, "student_id", "status", "id"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("session_id", "chat_sessions.id", primary_key=False),
    # The session's student, kept on each message for rate limits and access checks.
    Column("student_id", identifier(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=True),
    Column("reply_to", identifier(), nullable=True),
    # The client's id of a USER message: the same id again returns the same pair.
    Column("client_message_id", String(128), nullable=True),
    Column("guardrails", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("grounding", JSONB, nullable=True),
    Column("model", String(100), nullable=True),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    # Tries of the reply job that started streaming this reply.
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _created(),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("session_id", "client_message_id"),
    Index(None, "session_id", "id"),
    Index(None, "student_id", "created_at"),
)

__all__ = ["chat_messages", "chat_sessions"]
