"""prediction models and predictions

Revision ID: 0007
Revises: 0006

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_models",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("training_rows", sa.Integer(), nullable=False),
        sa.Column("r2", sa.Float(), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("task_id", sa.String(length=64, collation="C"), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_prediction_models")),
        sa.UniqueConstraint("task_id", name=op.f("uq_prediction_models_task_id")),
    )
    op.create_index(
        "uq_prediction_models_active",
        "prediction_models",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("predicted_score", sa.Float(), nullable=False),
        sa.Column("persona", sa.String(length=64), nullable=True),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_predictions_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    op.create_index(
        op.f("ix_predictions_student_id_created_at"),
        "predictions",
        ["student_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_predictions_student_id_created_at"), table_name="predictions")
    op.drop_table("predictions")
    op.drop_index(
        "uq_prediction_models_active",
        table_name="prediction_models",
        postgresql_where=sa.text("active"),
    )
    op.drop_table("prediction_models")
