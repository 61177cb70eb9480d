"""Commitments (告知承诺) as the departments verified them: a false one stays on record.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commitments",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("material", sa.Text, primary_key=True),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("kept", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("applicant_ref", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("commitments")
