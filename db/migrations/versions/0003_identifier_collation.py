"""Client-chosen identifiers use the "C" collation.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {
    "classes": ["id"],
    "students": ["id"],
    "class_students": ["class_id", "student_id"],
    "metrics": ["class_id", "student_id"],
    "metric_rollups": ["class_id", "student_id"],
    "users": ["student_id"],
}


def _set(collation: str) -> None:
    # Foreign keys between the id columns need both sides changed in one statement
    # each table; drop and re-add them around the change.
    op.drop_constraint("fk_class_students_class_id_classes", "class_students", type_="foreignkey")
    op.drop_constraint(
        "fk_class_students_student_id_students", "class_students", type_="foreignkey"
    )
    op.drop_constraint("fk_users_student_id_students", "users", type_="foreignkey")
    for table, columns in COLUMNS.items():
        changes = ", ".join(
            f'ALTER COLUMN {column} TYPE varchar(64) COLLATE "{collation}"' for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    op.execute(f'ALTER TABLE metrics ALTER COLUMN event_id TYPE varchar(128) COLLATE "{collation}"')
    op.create_foreign_key(
        "fk_class_students_class_id_classes",
        "class_students",
        "classes",
        ["class_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_class_students_student_id_students",
        "class_students",
        "students",
        ["student_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_users_student_id_students", "users", "students", ["student_id"], ["id"]
    )


def upgrade() -> None:
    _set("C")


def downgrade() -> None:
    _set("default")
