"""The e-licence library, ratings, the file-exchange ledger and leases.

Tables a store made before migrations existed (SQLite files of earlier deployments) are kept:
the licence library is rebuilt with its `seq` column, rows in their order of issue.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LICENCE_COLUMNS = (
    "id, type, issuer, holder, issued_on, content_hash, data, application_id, task_id, revoked"
)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    old_licences = "licences" in existing and "seq" not in {
        c["name"] for c in sa.inspect(op.get_bind()).get_columns("licences")
    }
    if old_licences:
        op.rename_table("licences", "licences_before_migrations")
        op.execute("drop index if exists by_holder")
        op.execute("drop index if exists by_holder_type")
    if "licences" not in existing or old_licences:
        op.create_table(
            "licences",
            sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
            sa.Column("id", sa.Text, nullable=False, unique=True),
            sa.Column("type", sa.Text, nullable=False),
            sa.Column("issuer", sa.Text, nullable=False),
            sa.Column("holder", sa.Text, nullable=False),
            sa.Column("issued_on", sa.Text, nullable=False),
            sa.Column("content_hash", sa.Text, nullable=False),
            sa.Column("data", sa.Text, nullable=False),
            sa.Column("application_id", sa.Text),
            sa.Column("task_id", sa.Text),
            sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
        )
        op.create_index("by_holder_type", "licences", ["holder", "type", "issued_on"])
    if old_licences:
        op.execute(
            f"insert into licences ({LICENCE_COLUMNS}) select {LICENCE_COLUMNS}"
            " from licences_before_migrations order by rowid"
        )
        op.drop_table("licences_before_migrations")
    if "ratings" not in existing:
        op.create_table(
            "ratings",
            sa.Column("application_id", sa.Text, primary_key=True),
            sa.Column("task_id", sa.Text, primary_key=True),
            sa.Column("department", sa.Text, nullable=False),
            sa.Column("matter", sa.Text, nullable=False),
            sa.Column("score", sa.Integer, nullable=False),
            sa.Column("comment", sa.Text, nullable=False),
            sa.Column("at", sa.Text, nullable=False),
        )
    if "files" not in existing:
        op.create_table(
            "files",
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("way", sa.Text, primary_key=True),
        )
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "files", "ratings", "licences"):
        op.drop_table(table)
