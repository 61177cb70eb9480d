"""Ratings as the national scheme has them: the reasons of a poor rating, and its follow-up.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings") as ratings:
        ratings.add_column(sa.Column("reasons", sa.Text, nullable=False, server_default="[]"))
    op.create_table(
        "follow_ups",
        sa.Column("application_id", sa.Text, primary_key=True),
        sa.Column("task_id", sa.Text, primary_key=True),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("matter", sa.Text, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Text, nullable=False),
        sa.Column("due_at", sa.Text, nullable=False),
        sa.Column("answered_at", sa.Text),
        sa.Column("answer", sa.Text),
        sa.Column("answered_by", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("follow_ups")
    with op.batch_alter_table("ratings") as ratings:
        ratings.drop_column("reasons")
