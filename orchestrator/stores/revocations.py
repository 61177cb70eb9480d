"""Revoked tracking links: per application, the time before which its links were issued and
work no more (`onething ops revoke-links`). A portal may give the applicant a new link."""

from __future__ import annotations

from sqlalchemy import Engine, select

from infra import database
from infra.database import revoked_links
from infra.settings import Settings


class Revocations:
    def __init__(self, db: Engine) -> None:
        self._db = db

    @classmethod
    def of(cls, settings: Settings) -> Revocations:
        return cls(database.engine(database.url_of(settings, "links")))

    def revoke(self, application_id: str, at: float) -> None:
        """Every link of the application issued until `at` (a POSIX time) stops working."""
        row = {"application_id": application_id, "revoked_at": at}
        statement = database.upserting(revoked_links, self._db)
        statement = statement.on_conflict_do_update(
            index_elements=["application_id"], set_={"revoked_at": at}
        )
        with self._db.begin() as connection:
            connection.execute(statement, row)

    def revoked_at(self, application_id: str) -> float | None:
        query = select(revoked_links.c.revoked_at).where(
            revoked_links.c.application_id == application_id
        )
        with self._db.connect() as connection:
            found: float | None = connection.execute(query).scalar_one_or_none()
        return found
