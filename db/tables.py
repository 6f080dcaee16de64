"""The schema as SQLAlchemy Core tables; Alembic migrations create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID_LENGTH = 64


def identifier(length: int = ID_LENGTH) -> String:
    """Client-chosen ids compare byte by byte: they are opaque, and "C" collation keeps
    every index on them fast whatever the database's default collation is."""
    return String(length, collation="C")


def _now() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


classes = Table(
    "classes",
    metadata,
    Column("id", identifier(), primary_key=True),
    _now(),
)

students = Table(
    "students",
    metadata,
    Column("id", identifier(), primary_key=True),
    _now(),
    # IANA time zone for days, hours and streaks.
    Column("timezone", String(64), nullable=False, server_default=text("'UTC'")),
)

class_students = Table(
    "class_students",
    metadata,
    Column(
        "class_id",
        identifier(),
        ForeignKey("classes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "student_id",
        identifier(),
        ForeignKey("students.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Student -> classes lookups; the primary key serves class -> students.
    Index(None, "student_id", "class_id"),
)

metrics = Table(
    "metrics",
    metadata,
    # The key is the order every read wants (a class's records by time), so no index is
    # kept just for `id`; ids are unique all the same, drawn from the identity sequence.
    Column("class_id", identifier(), primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True),
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("student_id", identifier(), nullable=False),
    Column("stuck", Boolean, nullable=False),
    Column("got_it", Boolean, nullable=False),
    Column("pause", Boolean, nullable=False),
    Column("example", Boolean, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("event_id", identifier(128), nullable=True),
    CheckConstraint("confidence >= 1 AND confidence <= 10", name="confidence_range"),
    # Keyset pagination and range scans per student (per class: the primary key).
    Index(None, "student_id", "ts", "id"),
    # Only records that carry an event id are indexed for duplicates: most carry none,
    # and an index entry per row would cost every ingest.
    Index(
        "uq_metrics_event_id",
        "event_id",
        unique=True,
        postgresql_where=text("event_id IS NOT NULL"),
    ),
)


def _rollup_table(name: str) -> Table:
    """Per class, student and time bucket: the sums mastery needs, written in the ingest
    transaction, so mastery reads one row per active student-bucket, not every record."""
    return Table(
        name,
        metadata,
        Column("class_id", identifier(), primary_key=True),
        Column("bucket", DateTime(timezone=True), primary_key=True),
        Column("student_id", identifier(), primary_key=True),
        Column("n", Integer, nullable=False),
        Column("stuck", Integer, nullable=False),
        Column("got_it", Integer, nullable=False),
        Column("pause", Integer, nullable=False),
        Column("example", Integer, nullable=False),
        Column("confidence_sum", Float, nullable=False),
        Column("last_ts", DateTime(timezone=True), nullable=False),
        Index(None, "student_id", "bucket"),
    )


# Hours serve the edges of a range, days its middle.
metric_rollups = _rollup_table("metric_rollups")
metric_rollups_daily = _rollup_table("metric_rollups_daily")

# Background work. Postgres is the source of truth for a task's state; Redis only carries
# the job and the change notifications.
tasks = Table(
    "tasks",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("owner_user_id", BigInteger, nullable=True),
    Column("owner_student_id", identifier(), nullable=True),
    Column("result_id", identifier(), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _now(),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')", name="status_known"),
    # The sweeper's scan: unfinished tasks by deadline.
    Index(
        "ix_tasks_unfinished_deadline",
        "deadline_at",
        postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
    ),
)

quizzes = Table(
    "quizzes",
    metadata,
    Column("id", identifier(), primary_key=True),
    # One quiz per task, so a retried job never stores a second one.
    Column("task_id", identifier(), nullable=True, unique=True),
    Column("topic", String(200), nullable=False),
    Column("difficulty", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("student_id", identifier(), nullable=True),
    _now(),
)

quiz_questions = Table(
    "quiz_questions",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("quiz_id", identifier(), ForeignKey("quizzes.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("type", String(16), nullable=False),
    Column("options", JSONB, nullable=False),
    Column("skill", String(100), nullable=False),
    # The answer key: read by grading, never by the Question type.
    Column("expected", JSONB, nullable=False),
    Column("key_terms", JSONB, nullable=False),
    UniqueConstraint("quiz_id", "number"),
)

quiz_attempts = Table(
    "quiz_attempts",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("quiz_id", identifier(), ForeignKey("quizzes.id", ondelete="CASCADE"), nullable=False),
    Column("student_id", identifier(), ForeignKey("students.id"), nullable=False),
    Column("score", Float, nullable=False),
    Column("correct_count", Integer, nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("answers", JSONB, nullable=False),
    Column("xp_awarded", Integer, nullable=False),
    Column("xp_total", Integer, nullable=False),
    Column("streak_days", Integer, nullable=False),
    Column("profile_task_id", identifier(), nullable=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "student_id", "submitted_at"),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("student_id", identifier(), ForeignKey("students.id"), nullable=False),
    # One profile per task, so a retried job never stores a second one.
    Column("task_id", identifier(), nullable=True, unique=True),
    Column("attempt_id", identifier(), nullable=True),
    Column("level", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("strengths", JSONB, nullable=False),
    Column("weaknesses", JSONB, nullable=False),
    Column("recommendations", JSONB, nullable=False),
    Column("learning_style", String(200), nullable=True),
    Column("source", String(16), nullable=False),
    Column("xp", Integer, nullable=False),
    Column("streak_days", Integer, nullable=False),
    _now(),
    CheckConstraint("level BETWEEN 1 AND 10", name="level_range"),
    Index(None, "student_id", "created_at"),
)

# Score models: every process predicts with the one active version, loaded from here.
prediction_models = Table(
    "prediction_models",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("algorithm", String(64), nullable=False),
    Column("trained_at", DateTime(timezone=True), nullable=False),
    Column("training_rows", Integer, nullable=False),
    Column("r2", Float, nullable=False),
    Column("mae", Float, nullable=False),
    Column("features", JSONB, nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("false")),
    Column("task_id", identifier(), nullable=True, unique=True),
    _now(),
    # At most one active version.
    Index("uq_prediction_models_active", "active", unique=True, postgresql_where=text("active")),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("student_id", identifier(), ForeignKey("students.id"), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("features", JSONB, nullable=False),
    Column("predicted_score", Float, nullable=False),
    Column("persona", String(64), nullable=True),
    Column("cached", Boolean, nullable=False),
    _now(),
    Index(None, "student_id", "created_at"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("student_id", identifier(), ForeignKey("students.id"), nullable=True, unique=True),
    _now(),
    CheckConstraint("role IN ('ADMIN', 'INSTRUCTOR', 'LEARNER')", name="role_known"),
)
# Emails are unique whatever their case.
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the secret: keys are long random strings, so a fast hash is enough.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_by", BigInteger, nullable=True),
    _now(),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("role IN ('ADMIN', 'INSTRUCTOR', 'LEARNER')", name="role_known"),
)

__all__ = [
    "ID_LENGTH",
    "api_keys",
    "class_students",
    "classes",
    "metadata",
    "metric_rollups",
    "metric_rollups_daily",
    "metrics",
    "prediction_models",
    "predictions",
    "profiles",
    "quiz_attempts",
    "quiz_questions",
    "quizzes",
    "students",
    "tasks",
    "users",
]

# The course catalogue and the learner model, on the same metadata (they use `identifier`
# and `metadata` from here, so they are imported last).
from db import learning_tables as _learning_tables  # noqa: E402, F401
from db import path_tables as _path_tables  # noqa: E402, F401
from db import tutor_tables as _tutor_tables  # noqa: E402, F401
