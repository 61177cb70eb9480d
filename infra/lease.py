"""One holder at a time: a lease in the shared database, taken when free or run out, kept by
renewing it before it runs out. A holder that dies loses it `seconds` later."""

from __future__ import annotations

import time

from sqlalchemy import Engine, select

from infra.database import leases, upserting


class Lease:
    def __init__(self, db: Engine, name: str, holder: str, seconds: float = 15.0) -> None:
        self._db = db
        self.name = name
        self.holder = holder
        self.seconds = seconds
        self._renewed_at: float | None = None

    def hold(self) -> bool:
        """Take the lease or renew it (a third of the way through); True if this holder has it
        now."""
        now = time.time()
        if self._renewed_at is not None and now < self._renewed_at + self.seconds / 3:
            return True
        taking = upserting(leases, self._db)
        statement = taking.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": taking.excluded.holder, "expires_at": taking.excluded.expires_at},
            where=(leases.c.holder == self.holder) | (leases.c.expires_at < now),
        )
        row = {"name": self.name, "holder": self.holder, "expires_at": now + self.seconds}
        with self._db.begin() as connection:
            connection.execute(statement, row)
            held = connection.execute(select(leases.c.holder).where(leases.c.name == self.name))
            mine = bool(held.scalar_one() == self.holder)
        self._renewed_at = now if mine else None
        return mine
