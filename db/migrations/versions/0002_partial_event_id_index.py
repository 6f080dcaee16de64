"""Index only the records that carry an event id.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("uq_metrics_event_id", "metrics", type_="unique")
    op.create_index(
        "uq_metrics_event_id",
        "metrics",
        ["event_id"],
        unique=True,
        postgresql_where=sa.text("event_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_metrics_event_id", table_name="metrics")
    op.create_unique_constraint("uq_metrics_event_id", "metrics", ["event_id"])
