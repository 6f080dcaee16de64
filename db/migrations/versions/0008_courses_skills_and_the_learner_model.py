"""courses skills and the learner model

Revision ID: 0008
Revises: 0007

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("difficulty", sa.String(length=16), nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("content_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("prior", sa.Float(), server_default=sa.text("0.2"), nullable=False),
        sa.Column("learn", sa.Float(), server_default=sa.text("0.1"), nullable=False),
        sa.Column("guess", sa.Float(), server_default=sa.text("0.2"), nullable=False),
        sa.Column("slip", sa.Float(), server_default=sa.text("0.1"), nullable=False),
        sa.Column("forget", sa.Float(), server_default=sa.text("0"), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    op.create_table(
        "course_prerequisites",
        sa.Column("course_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=64, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_prerequisites_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["courses.id"],
            name=op.f("fk_course_prerequisites_prerequisite_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "course_id", "prerequisite_id", name=op.f("pk_course_prerequisites")
        ),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("course_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "enrolled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_enrollments_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_enrollments_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "student_id", "course_id", name=op.f("uq_enrollments_student_id_course_id")
        ),
    )
    op.create_index(
        op.f("ix_enrollments_course_id_status"),
        "enrollments",
        ["course_id", "status"],
        unique=False,
    )
    op.create_table(
        "mastery_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=128, collation="C"), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("p_before", sa.Float(), nullable=False),
        sa.Column("p_after", sa.Float(), nullable=False),
        sa.Column("review_rating", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_mastery_events_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_mastery_events_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mastery_events")),
    )
    op.create_index(
        op.f("ix_mastery_events_student_id_skill_id_id"),
        "mastery_events",
        ["student_id", "skill_id", "id"],
        unique=False,
    )
    op.create_table(
        "modules",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("course_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_modules_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modules")),
    )
    op.create_index(
        op.f("ix_modules_course_id_position"), "modules", ["course_id", "position"], unique=False
    )
    op.create_table(
        "skill_levels",
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("p_mastery", sa.Float(), nullable=False),
        sa.Column("opportunities", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("recent", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("last_practiced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("card", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_skill_levels_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_skill_levels_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "skill_id", name=op.f("pk_skill_levels")),
    )
    op.create_index(op.f("ix_skill_levels_skill_id"), "skill_levels", ["skill_id"], unique=False)
    op.create_table(
        "skill_prerequisites",
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=64, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["skills.id"],
            name=op.f("fk_skill_prerequisites_prerequisite_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_skill_prerequisites_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill_id", "prerequisite_id", name=op.f("pk_skill_prerequisites")),
    )
    op.create_index(
        op.f("ix_skill_prerequisites_prerequisite_id"),
        "skill_prerequisites",
        ["prerequisite_id"],
        unique=False,
    )
    op.create_table(
        "lessons",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("module_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("course_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("content_url", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "learning_objectives",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("estimated_minutes", sa.Integer(), nullable=False),
        sa.Column("completion_rule", sa.String(length=16), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("min_minutes", sa.Integer(), nullable=True),
        sa.Column("quiz_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column("published", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("difficulty BETWEEN 1 AND 10", name=op.f("ck_lessons_difficulty_range")),
        sa.CheckConstraint(
            "estimated_minutes BETWEEN 1 AND 600", name=op.f("ck_lessons_minutes_range")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lessons_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["modules.id"],
            name=op.f("fk_lessons_module_id_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_lessons_quiz_id_quizzes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
    )
    op.create_index(
        op.f("ix_lessons_course_id_position"), "lessons", ["course_id", "position"], unique=False
    )
    op.create_index(
        op.f("ix_lessons_module_id_position"), "lessons", ["module_id", "position"], unique=False
    )
    op.create_index(op.f("ix_lessons_quiz_id"), "lessons", ["quiz_id"], unique=False)
    op.create_table(
        "module_prerequisites",
        sa.Column("module_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=64, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["modules.id"],
            name=op.f("fk_module_prerequisites_module_id_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["modules.id"],
            name=op.f("fk_module_prerequisites_prerequisite_id_modules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "module_id", "prerequisite_id", name=op.f("pk_module_prerequisites")
        ),
    )
    op.create_table(
        "lesson_activities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("lesson_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("event_id", sa.String(length=128, collation="C"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activity", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_activities_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_lesson_activities_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_activities")),
        sa.UniqueConstraint(
            "student_id", "event_id", name=op.f("uq_lesson_activities_student_id_event_id")
        ),
    )
    op.create_table(
        "lesson_prerequisites",
        sa.Column("lesson_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("min_completion", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_prerequisites_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_prerequisites_prerequisite_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "lesson_id", "prerequisite_id", name=op.f("pk_lesson_prerequisites")
        ),
    )
    op.create_table(
        "lesson_progress",
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("lesson_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completion", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("active_seconds", sa.Integer(), nullable=False),
        sa.Column("pauses", sa.Integer(), nullable=False),
        sa.Column("rewinds", sa.Integer(), nullable=False),
        sa.Column("hints_used", sa.Integer(), nullable=False),
        sa.Column("first_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_progress_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_lesson_progress_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "lesson_id", name=op.f("pk_lesson_progress")),
    )
    op.create_index(
        op.f("ix_lesson_progress_lesson_id"), "lesson_progress", ["lesson_id"], unique=False
    )
    op.create_table(
        "lesson_skills",
        sa.Column("lesson_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("skill_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_skills_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_lesson_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lesson_id", "skill_id", name=op.f("pk_lesson_skills")),
    )
    op.create_index(op.f("ix_lesson_skills_skill_id"), "lesson_skills", ["skill_id"], unique=False)
    op.add_column(
        "students",
        sa.Column(
            "timezone", sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_column("students", "timezone")
    op.drop_index(op.f("ix_lesson_skills_skill_id"), table_name="lesson_skills")
    op.drop_table("lesson_skills")
    op.drop_index(op.f("ix_lesson_progress_lesson_id"), table_name="lesson_progress")
    op.drop_table("lesson_progress")
    op.drop_table("lesson_prerequisites")
    op.drop_table("lesson_activities")
    op.drop_table("module_prerequisites")
    op.drop_index(op.f("ix_lessons_quiz_id"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_module_id_position"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_course_id_position"), table_name="lessons")
    op.drop_table("lessons")
    op.drop_index(op.f("ix_skill_prerequisites_prerequisite_id"), table_name="skill_prerequisites")
    op.drop_table("skill_prerequisites")
    op.drop_index(op.f("ix_skill_levels_skill_id"), table_name="skill_levels")
    op.drop_table("skill_levels")
    op.drop_index(op.f("ix_modules_course_id_position"), table_name="modules")
    op.drop_table("modules")
    op.drop_index(op.f("ix_mastery_events_student_id_skill_id_id"), table_name="mastery_events")
    op.drop_table("mastery_events")
    op.drop_index(op.f("ix_enrollments_course_id_status"), table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_table("course_prerequisites")
    op.drop_table("skills")
    op.drop_table("courses")
