"""Shared state beside Temporal: the e-licence library, the ratings, the commitments verified
(告知承诺), the audit trail, the file-exchange ledger, leases, revoked tracking links and
spent applicant assertions.

In PostgreSQL when `ONETHING_DATABASE_URL` is set, so every replica of every process sees the
same rows; otherwise in a SQLite file per store in the state directory (one machine). One
schema either way, made and upgraded by the Alembic migrations in `infra/migrations/`, which
`onething setup` (and `stack up`) runs once for the deployment, never N replicas at once as
they start; a process finds its database at the newest migration or refuses to start.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from infra.errors import InfraError
from infra.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
NEWEST = "0006"  # the head of infra/migrations/versions
STORES = ("licences", "ratings", "commitments", "audit", "file-exchange", "links")
metadata = MetaData()

licences = Table(
    "licences",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("id", Text, nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("issued_on", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("application_id", Text),
    Column("task_id", Text),
    Column("revoked", Integer, nullable=False, server_default="0"),
    Index("by_holder_type", "holder", "type", "issued_on"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("task_id", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("matter", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("reasons", Text, nullable=False, server_default="[]"),
)

follow_ups = Table(  # a poor rating's follow-up (差评整改): the department answers by its due time
    "follow_ups",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("task_id", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("matter", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("due_at", Text, nullable=False),
    Column("answered_at", Text),
    Column("answer", Text),
    Column("answered_by", Text),
)

commitments = Table(  # a department's verdict on a commitment (告知承诺), once per material
    "commitments",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("material", Text, primary_key=True),
    Column("department", Text, nullable=False),
    Column("kept", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("applicant_ref", Text, nullable=False),
    Column("at", Text, nullable=False),
)

audit = Table(  # each application's hash-chained trail (orchestrator/stores/audit.py)
    "audit",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("sig", Text, nullable=False),
)

audit_checkpoints = Table(  # each trail's signed (count, head), kept apart from the chain
    "audit_checkpoints",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("head", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("sig", Text, nullable=False),
)

files = Table(  # a file-exchange ledger: file names are unique across departments
    "files",
    metadata,
    Column("name", Text, primary_key=True),
    Column("way", Text, primary_key=True),
)

revoked_links = Table(  # an application's tracking links issued until `revoked_at` work no more
    "revoked_links",
    metadata,
    Column("application_id", Text, primary_key=True),
    Column("revoked_at", Float, nullable=False),
)

spent_assertions = Table(  # an applicant assertion's `jti`, kept until the assertion expires
    "spent_assertions",
    metadata,
    Column("jti", Text, primary_key=True),
    Column("spent_on", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("spent_by_expiry", "expires_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("holder", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
)

_engines: dict[str, Engine] = {}
_opening = threading.Lock()


def url_of(settings: Settings, store: str) -> str:
    """The database of `store`: the shared one if set, else its own SQLite file."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return sqlite_url(settings.state_dir / f"{store}.sqlite")


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class NotMigrated(InfraError):
    """The database is not at the newest migration: `onething setup` has not run."""


def engine(url: str) -> Engine:
    """The process's engine for `url`, once its schema is found at the newest migration."""
    with _opening:
        if url not in _engines:
            made = _engine(url)
            found = version(made)
            if found != NEWEST:
                raise NotMigrated(
                    f"the database is at migration {found or 'none'}, not {NEWEST}: "
                    "run `onething setup`"
                )
            _engines[url] = made
        return _engines[url]


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):  # a file: no connection to go stale
        made = create_engine(url)
        event.listen(made, "connect", _write_ahead)
        return made
    return create_engine(url, pool_pre_ping=True)


def version(db: Engine) -> str | None:
    """The migration the database is at (None: none yet)."""
    try:
        with db.connect() as connection:
            found = connection.execute(text("select version_num from alembic_version"))
            return found.scalar_one_or_none()
    except SQLAlchemyError:
        return None


def migrate(url: str) -> tuple[str | None, str]:
    """Upgrade `url` to the newest migration; (the migration it was at, the one it is at)."""
    from alembic import command  # only `setup` migrates: the processes never load Alembic
    from alembic.config import Config

    db = _engine(url)
    before = version(db)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    db.dispose()
    return before, NEWEST


def upserting(table: Table, db: Engine) -> Any:
    """An INSERT in the engine's dialect, which can say what to do ON CONFLICT."""
    dialect: Any = postgresql if db.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_ignoring(table: Table, db: Engine) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING, in the engine's dialect."""
    statement: Insert = upserting(table, db).on_conflict_do_nothing()
    return statement


def _write_ahead(connection: Any, _: Any) -> None:
    """Write-ahead log, synced at checkpoints: a commit survives the process dying (not the
    machine losing power: production keeps its state in PostgreSQL)."""
    connection.execute("pragma journal_mode=wal")
    connection.execute("pragma synchronous=normal")
