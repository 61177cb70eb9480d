"""The audit trail's checkpoints: each application's signed entry count and head, so a trail
cut short (or deleted whole) is named by `onething audit verify`.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("head", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("sig", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
