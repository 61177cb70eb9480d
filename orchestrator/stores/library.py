"""The e-licence library: e-licences by holder, in SQLite beside the deployment's state.

The worker issues them when an application is approved; the API reads them to prefill forms
and to skip matters whose licences the holder already holds. A province would point this at
its own e-licence library (电子证照库); the interface is `issue` and `held_by`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from infra.sqlite import open_store
from one_things.licences import ELicence

COLUMNS = (
    "id",
    "type",
    "issuer",
    "holder",
    "issued_on",
    "content_hash",
    "data",
    "application_id",
    "task_id",
)


class LicenceLibrary:
    """Issued e-licences, looked up by holder."""

    def __init__(self, db: Path) -> None:
        self._db = open_store(
            db,
            f"create table if not exists licences ({', '.join(COLUMNS)}, revoked integer default 0,"
            " primary key (id))",
            "create index if not exists by_holder on licences (holder)",
            "create index if not exists by_holder_type on licences (holder, type, issued_on)",
        )

    def issue(self, licences: Iterable[ELicence]) -> None:
        """Keep each licence; one already kept (same id) is left as it is."""
        rows = [
            (
                lic.id,
                lic.type,
                lic.issuer,
                lic.holder,
                lic.issued_on.isoformat(),
                lic.content_hash,
                orjson.dumps(lic.data),
                lic.application_id,
                lic.task_id,
            )
            for lic in licences
        ]
        with self._db:
            self._db.executemany(
                f"insert or ignore into licences ({', '.join(COLUMNS)}) values"
                f" ({', '.join('?' * len(COLUMNS))})",
                rows,
            )

    def current_of(self, holders: Iterable[str]) -> list[ELicence]:
        """The newest valid licence of each type these holders hold, newest first: what
        prefill and skipping read (a holder who applied a thousand times has a thousand
        licences of a type; the application needs one)."""
        wanted = sorted(set(holders))
        return self._licences(
            f"select {', '.join(COLUMNS)} from licences l where revoked = 0 and holder in"
            f" ({', '.join('?' * len(wanted))}) and rowid = (select rowid from licences m"
            " where m.holder = l.holder and m.type = l.type and m.revoked = 0"
            " order by issued_on desc, rowid desc limit 1) order by issued_on desc, rowid desc",
            wanted,
        )

    def held_by(self, holders: Iterable[str]) -> list[ELicence]:
        """The valid (not revoked) licences of these holders, newest first."""
        wanted = sorted(set(holders))
        return self._licences(
            f"select {', '.join(COLUMNS)} from licences where revoked = 0 and holder in"
            f" ({', '.join('?' * len(wanted))}) order by issued_on desc, rowid desc",
            wanted,
        )

    def _licences(self, query: str, parameters: list[str]) -> list[ELicence]:
        rows = self._db.execute(query, parameters)
        return [
            ELicence.model_validate(
                {**dict(zip(COLUMNS, row, strict=True)), "data": orjson.loads(row[6])}
            )
            for row in rows
        ]
