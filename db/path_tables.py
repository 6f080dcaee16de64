"""Tables of learning goals, their path versions and a learner's recommendations, on the
same metadata as db.tables."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from db.learning_tables import _cascade, _created, _updated
from db.tables import identifier, metadata

learning_goals = Table(
    "learning_goals",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    Column("description", Text, nullable=False),
    Column("target_date", Date, nullable=True),
    Column("weekly_minutes", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    # The target skills' levels when the goal was created (rows of skill_levels, or the
    # prior for skills without evidence), kept as they were.
    Column("initial_snapshot", JSONB, nullable=False),
    _created(),
    _updated(),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("weekly_minutes IS NULL OR weekly_minutes >= 1", name="weekly_minutes_min"),
    Index(None, "student_id", "id"),
)

learning_goal_skills = Table(
    "learning_goal_skills",
    metadata,
    _cascade("goal_id", "learning_goals.id"),
    _cascade("skill_id", "skills.id"),
    Column("target_mastery", Float, nullable=False),
    # The order the goal lists its targets in.
    Column("position", Integer, nullable=False),
    CheckConstraint("target_mastery > 0 AND target_mastery <= 1", name="target_range"),
    Index(None, "skill_id"),
)

learning_paths = Table(
    "learning_paths",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("goal_id", "learning_goals.id", primary_key=False),
    Column("version", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    # Ordered steps: kind, lesson_id, skills, reason_code, reason, leads_to, minutes.
    Column("steps", JSONB, nullable=False),
    Column("estimated_minutes", Integer, nullable=False),
    Column("estimated_completion_date", Date, nullable=True),
    Column("uncovered", JSONB, nullable=False),
    # Against the previous version: added, removed and moved steps; null for version 1.
    Column("diff", JSONB, nullable=True),
    _created(),
    UniqueConstraint("goal_id", "version"),
    # One active version per goal.
    Index("learning_paths_one_active", "goal_id", unique=True, postgresql_where=text("active")),
)

recommendations = Table(
    "recommendations",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    Column("kind", String(16), nullable=False),
    # What it recommends (ml.student_recommendations.Candidate.target): the same target
    # is kept open rather than made again, and not offered again soon after an answer.
    Column("target", String(200), nullable=False),
    Column("lesson_id", identifier(), ForeignKey("lessons.id", ondelete="CASCADE"), nullable=True),
    Column("skill_id", identifier(), ForeignKey("skills.id", ondelete="CASCADE"), nullable=True),
    Column(
        "goal_id", identifier(), ForeignKey("learning_goals.id", ondelete="SET NULL"), nullable=True
    ),
    Column("difficulty", JSONB, nullable=True),
    Column("reason", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("priority", String(8), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("responded_at", DateTime(timezone=True), nullable=True),
    Column("response_note", Text, nullable=True),
    Index(None, "student_id", "status", "id"),
    Index(None, "student_id", "target", "responded_at"),
    # The open ones by expiry, for the sweeper.
    Index("recommendations_open_expiry", "expires_at", postgresql_where=text("status = 'OPEN'")),
)

__all__ = ["learning_goal_skills", "learning_goals", "learning_paths", "recommendations"]
