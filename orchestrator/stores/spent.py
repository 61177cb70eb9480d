"""Applicant assertions spent: each `jti` is taken once, for one use, and kept until the
assertion expires (after which the assertion is refused anyway). The same use again (a
request retried with its idempotency key, a message redelivered) is not a second use."""

from __future__ import annotations

import time

from sqlalchemy import Engine, delete, select

from infra import database
from infra.database import spent_assertions
from infra.settings import Settings


class SpentAssertions:
    def __init__(self, db: Engine) -> None:
        self._db = db

    @classmethod
    def of(cls, settings: Settings) -> SpentAssertions:
        return cls(database.engine(database.url_of(settings, "links")))

    def spend(self, jti: str, use: str | None, expires_at: float) -> bool:
        """True if the assertion `jti` is free for `use` (None: a use never repeated)."""
        on = use or f"once:{time.time_ns()}"
        row = {"jti": jti, "spent_on": on, "expires_at": expires_at}
        with self._db.begin() as connection:
            connection.execute(
                delete(spent_assertions).where(spent_assertions.c.expires_at < time.time())
            )
            connection.execute(database.insert_ignoring(spent_assertions, self._db), row)
            taken = connection.execute(
                select(spent_assertions.c.spent_on).where(spent_assertions.c.jti == jti)
            ).scalar_one()
        return bool(taken == on)
