"""Daily rollups beside the hourly ones, so mastery over long ranges reads few rows.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollups_daily",
        sa.Column("class_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("student_id", sa.String(length=64, collation="C"), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("stuck", sa.Integer(), nullable=False),
        sa.Column("got_it", sa.Integer(), nullable=False),
        sa.Column("pause", sa.Integer(), nullable=False),
        sa.Column("example", sa.Integer(), nullable=False),
        sa.Column("confidence_sum", sa.Float(), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "class_id", "bucket", "student_id", name=op.f("pk_metric_rollups_daily")
        ),
    )
    op.create_index(
        op.f("ix_metric_rollups_daily_student_id_bucket"),
        "metric_rollups_daily",
        ["student_id", "bucket"],
    )
    op.execute(
        """
        INSERT INTO metric_rollups_daily
        SELECT class_id, date_trunc('day', bucket, 'UTC'), student_id, sum(n), sum(stuck),
               sum(got_it), sum(pause), sum(example), sum(confidence_sum), max(last_ts)
        FROM metric_rollups GROUP BY 1, 2, 3
        """
    )


def downgrade() -> None:
    op.drop_table("metric_rollups_daily")
