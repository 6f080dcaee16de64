"""tasks quizzes attempts profiles

Revision ID: 0006
Revises: 0005

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quizzes",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("task_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("difficulty", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quizzes")),
        sa.UniqueConstraint("task_id", name=op.f("uq_quizzes_task_id")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_student_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("result_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')",
            name=op.f("ck_tasks_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "ix_tasks_unfinished_deadline",
        "tasks",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("task_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("attempt_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("strengths", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("weaknesses", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recommendations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("learning_style", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("xp", sa.Integer(), nullable=False),
        sa.Column("streak_days", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 10", name=op.f("ck_profiles_level_range")),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_profiles_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
        sa.UniqueConstraint("task_id", name=op.f("uq_profiles_task_id")),
    )
    op.create_index(
        op.f("ix_profiles_student_id_created_at"),
        "profiles",
        ["student_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("quiz_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("correct_count", sa.Integer(), nullable=False),
        sa.Column("total_count", sa.Integer(), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("xp_awarded", sa.Integer(), nullable=False),
        sa.Column("xp_total", sa.Integer(), nullable=False),
        sa.Column("streak_days", sa.Integer(), nullable=False),
        sa.Column("profile_task_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_quiz_attempts_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_quiz_attempts_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_attempts")),
    )
    op.create_index(
        op.f("ix_quiz_attempts_student_id_submitted_at"),
        "quiz_attempts",
        ["student_id", "submitted_at"],
        unique=False,
    )
    op.create_table(
        "quiz_questions",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("quiz_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("skill", sa.String(length=100), nullable=False),
        sa.Column("expected", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("key_terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_quiz_questions_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_questions")),
        sa.UniqueConstraint("quiz_id", "number", name=op.f("uq_quiz_questions_quiz_id_number")),
    )


def downgrade() -> None:
    op.drop_table("quiz_questions")
    op.drop_index(op.f("ix_quiz_attempts_student_id_submitted_at"), table_name="quiz_attempts")
    op.drop_table("quiz_attempts")
    op.drop_index(op.f("ix_profiles_student_id_created_at"), table_name="profiles")
    op.drop_table("profiles")
    op.drop_index(
        "ix_tasks_unfinished_deadline",
        table_name="tasks",
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.drop_table("tasks")
    op.drop_table("quizzes")
