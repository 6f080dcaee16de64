"""Key metrics by (class_id, ts, id), the order every read wants; one index fewer to
maintain on ingest.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("pk_metrics", "metrics", type_="primary")
    op.drop_index("ix_metrics_class_id_ts_id", table_name="metrics")
    op.create_primary_key("pk_metrics", "metrics", ["class_id", "ts", "id"])


def downgrade() -> None:
    op.drop_constraint("pk_metrics", "metrics", type_="primary")
    op.create_primary_key("pk_metrics", "metrics", ["id"])
    op.create_index("ix_metrics_class_id_ts_id", "metrics", ["class_id", "ts", "id"])
