"""The e-licence library: e-licences by holder, in the shared database (`infra/database.py`).

The worker issues them when an application is approved; the API reads them to prefill forms
and to skip matters whose licences the holder already holds. A province would point this at
its own e-licence library (电子证照库); the interface is `issue` and `held_by`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Engine, Select, and_, bindparam, func, select

from infra.database import insert_ignoring, licences
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
NEWEST_FIRST = (licences.c.issued_on.desc(), licences.c.seq.desc())
VALID_OF_HOLDERS = (
    licences.c.revoked == 0,
    licences.c.holder.in_(bindparam("holders", expanding=True)),
)
SELECTED = select(*(licences.c[name] for name in COLUMNS)).select_from(licences)
HELD = SELECTED.where(*VALID_OF_HOLDERS).order_by(*NEWEST_FIRST)
RANKED = (
    select(licences.c.seq)
    .where(*VALID_OF_HOLDERS)
    .add_columns(
        func.row_number()
        .over(partition_by=(licences.c.holder, licences.c.type), order_by=NEWEST_FIRST)
        .label("rank")
    )
    .subquery()
)
CURRENT = SELECTED.join(RANKED, and_(RANKED.c.seq == licences.c.seq, RANKED.c.rank == 1)).order_by(
    *NEWEST_FIRST
)


class LicenceLibrary:
    """Issued e-licences, looked up by holder."""

    def __init__(self, db: Engine) -> None:
        self._db = db

    def issue(self, issued: Iterable[ELicence]) -> None:
        """Keep each licence; one already kept (same id) is left as it is."""
        rows = [
            {
                **lic.model_dump(include=set(COLUMNS) - {"data", "issued_on"}),
                "issued_on": lic.issued_on.isoformat(),
                "data": orjson.dumps(lic.data).decode(),
            }
            for lic in issued
        ]
        if rows:
            with self._db.begin() as connection:
                connection.execute(insert_ignoring(licences, self._db), rows)

    def current_of(self, holders: Iterable[str]) -> list[ELicence]:
        """The newest valid licence of each type these holders hold, newest first: what
        prefill and skipping read (a holder who applied a thousand times has a thousand
        licences of a type; the application needs one)."""
        return self._licences(CURRENT, holders)

    def held_by(self, holders: Iterable[str]) -> list[ELicence]:
        """The valid (not revoked) licences of these holders, newest first."""
        return self._licences(HELD, holders)

    def _licences(self, query: Select[Any], holders: Iterable[str]) -> list[ELicence]:
        with self._db.connect() as connection:
            rows = connection.execute(query, {"holders": sorted(set(holders))}).mappings().all()
        return [ELicence.model_validate({**row, "data": orjson.loads(row["data"])}) for row in rows]
