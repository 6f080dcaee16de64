"""learning goals paths and recommendations

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learning_goals",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("weekly_minutes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("initial_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "weekly_minutes IS NULL OR weekly_minutes >= 1",
            name=op.f("ck_learning_goals_weekly_minutes_min"),
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_learning_goals_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_goals")),
    )
    op.create_index(
        op.f("ix_learning_goals_student_id_id"),
        "learning_goals",
        ["student_id", "id"],
        unique=False,
    )
    op.create_table(
        "learning_goal_skills",
        sa.Column("goal_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("target_mastery", sa.Float(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "target_mastery > 0 AND target_mastery <= 1",
            name=op.f("ck_learning_goal_skills_target_range"),
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["learning_goals.id"],
            name=op.f("fk_learning_goal_skills_goal_id_learning_goals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_learning_goal_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("goal_id", "skill_id", name=op.f("pk_learning_goal_skills")),
    )
    op.create_index(
        op.f("ix_learning_goal_skills_skill_id"), "learning_goal_skills", ["skill_id"], unique=False
    )
    op.create_table(
        "learning_paths",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("goal_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("estimated_minutes", sa.Integer(), nullable=False),
        sa.Column("estimated_completion_date", sa.Date(), nullable=True),
        sa.Column("uncovered", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("diff", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["learning_goals.id"],
            name=op.f("fk_learning_paths_goal_id_learning_goals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_paths")),
        sa.UniqueConstraint("goal_id", "version", name=op.f("uq_learning_paths_goal_id_version")),
    )
    op.create_index(
        "learning_paths_one_active",
        "learning_paths",
        ["goal_id"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("lesson_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("goal_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("difficulty", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["learning_goals.id"],
            name=op.f("fk_recommendations_goal_id_learning_goals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_recommendations_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_recommendations_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_recommendations_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
    )
    op.create_index(
        op.f("ix_recommendations_student_id_status_id"),
        "recommendations",
        ["student_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_recommendations_student_id_target_responded_at"),
        "recommendations",
        ["student_id", "target", "responded_at"],
        unique=False,
    )
    op.add_column(
        "enrollments", sa.Column("goal_id", sa.String(length=64, collation="C"), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_enrollments_goal_id_learning_goals"),
        "enrollments",
        "learning_goals",
        ["goal_id"],
        ["id"],
        ondelete="SET NULL",
        use_alter=True,
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_enrollments_goal_id_learning_goals"), "enrollments", type_="foreignkey"
    )
    op.drop_column("enrollments", "goal_id")
    op.drop_index(
        op.f("ix_recommendations_student_id_target_responded_at"), table_name="recommendations"
    )
    op.drop_index(op.f("ix_recommendations_student_id_status_id"), table_name="recommendations")
    op.drop_table("recommendations")
    op.drop_index(
        "learning_paths_one_active", table_name="learning_paths", postgresql_where=sa.text("active")
    )
    op.drop_table("learning_paths")
    op.drop_index(op.f("ix_learning_goal_skills_skill_id"), table_name="learning_goal_skills")
    op.drop_table("learning_goal_skills")
    op.drop_index(op.f("ix_learning_goals_student_id_id"), table_name="learning_goals")
    op.drop_table("learning_goals")
