"""A real PostgreSQL server for the tests: Debian's `postgresql` package (`make test` installs
it), started in a folder of its own on a free port and stopped afterwards. PostgreSQL refuses
to run as root, so when the tests do, it runs as the package's `postgres` user."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.supervisor import free_port

USER = "postgres"


def binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    return found[-1].parent


def _run(*argv: str) -> None:
    as_user = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_user, *argv], check=True, capture_output=True, timeout=120)


@contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh server; yields its SQLAlchemy URL (database `postgres`, user `onething`)."""
    folder = Path(tempfile.mkdtemp(prefix="onething-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, USER)
    data, port, bin_dir = folder / "data", free_port(), binaries()
    _run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "onething", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(folder / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql+psycopg://onething@127.0.0.1:{port}/postgres"
    finally:
        _run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
