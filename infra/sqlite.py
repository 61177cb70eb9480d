"""The small SQLite stores beside a deployment's state (records, e-licences, ratings, ledgers)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_store(db: Path, *schema: str) -> sqlite3.Connection:
    """Open (or create) `db` in autocommit and WAL mode, for use from any thread; run `schema`.
    Synced at checkpoints, as the SQLAlchemy stores are (`infra.database`): a commit survives
    the process dying, and no commit waits for the disk (0.38 → 0.03 ms here)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    connection.execute("pragma journal_mode=wal")
    connection.execute("pragma synchronous=normal")
    for statement in schema:
        connection.execute(statement)
    return connection
