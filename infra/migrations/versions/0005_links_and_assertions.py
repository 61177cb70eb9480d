"""Tracking links revoked per application, and applicant assertions spent (their `jti`).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_links",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("revoked_at", sa.Float, nullable=False),
    )
    op.create_table(
        "spent_assertions",
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("spent_on", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("spent_by_expiry", "spent_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("spent_by_expiry", "spent_assertions")
    op.drop_table("spent_assertions")
    op.drop_table("revoked_links")
