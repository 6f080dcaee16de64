"""Tables of the course catalogue and the learner model (skills, courses, modules,
lessons, enrolments, lesson progress, per-skill levels and their evidence), on the same
metadata as db.tables."""

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
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from db.tables import identifier, metadata


def _created() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _updated() -> Column:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _cascade(name: str, target: str, *, primary_key: bool = True) -> Column:
    return Column(
        name,
        identifier(),
        ForeignKey(target, ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


skills = Table(
    "skills",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    # Bayesian Knowledge Tracing parameters (ml.learner_model.TracingParams).
    Column("prior", Float, nullable=False, server_default=text("0.2")),
    Column("learn", Float, nullable=False, server_default=text("0.1")),
    Column("guess", Float, nullable=False, server_default=text("0.2")),
    Column("slip", Float, nullable=False, server_default=text("0.1")),
    Column("forget", Float, nullable=False, server_default=text("0")),
    _created(),
    _updated(),
)

skill_prerequisites = Table(
    "skill_prerequisites",
    metadata,
    _cascade("skill_id", "skills.id"),
    _cascade("prerequisite_id", "skills.id"),
    # Dependents of a skill.
    Index(None, "prerequisite_id"),
)

courses = Table(
    "courses",
    metadata,
    Column("id", identifier(), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("summary", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("difficulty", String(16), nullable=False),
    Column("published", Boolean, nullable=False, server_default=text("false")),
    # Grows with every change of the course's content.
    Column("content_version", Integer, nullable=False, server_default=text("1")),
    _created(),
    _updated(),
)

course_prerequisites = Table(
    "course_prerequisites",
    metadata,
    _cascade("course_id", "courses.id"),
    _cascade("prerequisite_id", "courses.id"),
)

modules = Table(
    "modules",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("course_id", "courses.id", primary_key=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("position", Integer, nullable=False),
    _created(),
    Index(None, "course_id", "position"),
)

module_prerequisites = Table(
    "module_prerequisites",
    metadata,
    _cascade("module_id", "modules.id"),
    _cascade("prerequisite_id", "modules.id"),
)

lessons = Table(
    "lessons",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("module_id", "modules.id", primary_key=False),
    _cascade("course_id", "courses.id", primary_key=False),
    Column("title", String(200), nullable=False),
    Column("position", Integer, nullable=False),
    Column("content_type", String(16), nullable=False),
    Column("content_url", Text, nullable=True),
    Column("body", Text, nullable=True),
    Column("learning_objectives", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("difficulty", Integer, nullable=False),
    Column("estimated_minutes", Integer, nullable=False),
    Column("completion_rule", String(16), nullable=False),
    Column("min_score", Float, nullable=True),
    Column("min_minutes", Integer, nullable=True),
    Column("quiz_id", identifier(), ForeignKey("quizzes.id", ondelete="SET NULL"), nullable=True),
    Column("published", Boolean, nullable=False, server_default=text("true")),
    # Soft delete: progress and evidence keep pointing at the lesson.
    Column("deleted_at", DateTime(timezone=True), nullable=True),
    _created(),
    _updated(),
    CheckConstraint("difficulty BETWEEN 1 AND 10", name="difficulty_range"),
    CheckConstraint("estimated_minutes BETWEEN 1 AND 600", name="minutes_range"),
    Index(None, "module_id", "position"),
    Index(None, "course_id", "position"),
    Index(None, "quiz_id"),
)

lesson_skills = Table(
    "lesson_skills",
    metadata,
    _cascade("lesson_id", "lessons.id"),
    _cascade("skill_id", "skills.id"),
    # Normalised: a lesson's weights sum to 1.
    Column("weight", Float, nullable=False),
    Index(None, "skill_id"),
)

lesson_prerequisites = Table(
    "lesson_prerequisites",
    metadata,
    _cascade("lesson_id", "lessons.id"),
    _cascade("prerequisite_id", "lessons.id"),
    Column("min_score", Float, nullable=True),
    Column("min_completion", Float, nullable=True),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", identifier(), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    _cascade("course_id", "courses.id", primary_key=False),
    Column("status", String(16), nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_activity_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    # The goal the student enrolled for, if any (db.path_tables).
    Column(
        "goal_id",
        identifier(),
        ForeignKey("learning_goals.id", ondelete="SET NULL", use_alter=True),
        nullable=True,
    ),
    UniqueConstraint("student_id", "course_id"),
    Index(None, "course_id", "status"),
)

lesson_progress = Table(
    "lesson_progress",
    metadata,
    _cascade("student_id", "students.id"),
    _cascade("lesson_id", "lessons.id"),
    Column("status", String(16), nullable=False),
    Column("completion", Float, nullable=False),
    Column("score", Float, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("active_seconds", Integer, nullable=False),
    Column("pauses", Integer, nullable=False),
    Column("rewinds", Integer, nullable=False),
    Column("hints_used", Integer, nullable=False),
    Column("first_activity_at", DateTime(timezone=True), nullable=True),
    Column("last_activity_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Index(None, "lesson_id"),
)

# Every recorded activity, once per (student, event id): a repeated event changes nothing.
lesson_activities = Table(
    "lesson_activities",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    _cascade("lesson_id", "lessons.id", primary_key=False),
    Column("event_id", identifier(128), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("activity", JSONB, nullable=False),
    UniqueConstraint("student_id", "event_id"),
)

skill_levels = Table(
    "skill_levels",
    metadata,
    _cascade("student_id", "students.id"),
    _cascade("skill_id", "skills.id"),
    Column("p_mastery", Float, nullable=False),
    Column("opportunities", Integer, nullable=False),
    Column("correct", Integer, nullable=False),
    # The last five outcomes, oldest first.
    Column("recent", JSONB, nullable=False),
    Column("last_practiced_at", DateTime(timezone=True), nullable=True),
    # The FSRS card (fsrs.Card.to_dict()); null until the first graded answer.
    Column("card", JSONB, nullable=True),
    # When the card's next review is due (its `due` once reviewed), kept beside it so
    # that reviews falling due can be found by an index scan.
    Column("review_due_at", DateTime(timezone=True), nullable=True),
    _updated(),
    Index(None, "skill_id"),
    Index(None, "review_due_at"),
)

mastery_events = Table(
    "mastery_events",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    _cascade("student_id", "students.id", primary_key=False),
    _cascade("skill_id", "skills.id", primary_key=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_id", identifier(128), nullable=True),
    Column("correct", Boolean, nullable=True),
    Column("weight", Float, nullable=False),
    Column("p_before", Float, nullable=False),
    Column("p_after", Float, nullable=False),
    Column("review_rating", SmallInteger, nullable=True),
    # A pair's history, newest first.
    Index(None, "student_id", "skill_id", "id"),
)

__all__ = [
    "course_prerequisites",
    "courses",
    "enrollments",
    "lesson_activities",
    "lesson_prerequisites",
    "lesson_progress",
    "lesson_skills",
    "lessons",
    "mastery_events",
    "module_prerequisites",
    "modules",
    "skill_levels",
    "skill_prerequisites",
    "skills",
]
