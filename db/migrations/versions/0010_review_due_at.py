"""review due at and open recommendations by expiry

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "skill_levels", sa.Column("review_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE skill_levels SET review_due_at = (card->>'due')::timestamptz"
        " WHERE card->>'last_review' IS NOT NULL"
    )
    op.create_index(
        op.f("ix_skill_levels_review_due_at"), "skill_levels", ["review_due_at"], unique=False
    )
    op.create_index(
        "recommendations_open_expiry",
        "recommendations",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'OPEN'"),
    )


def downgrade() -> None:
    op.drop_index("recommendations_open_expiry", table_name="recommendations")
    op.drop_index(op.f("ix_skill_levels_review_due_at"), table_name="skill_levels")
    op.drop_column("skill_levels", "review_due_at")
