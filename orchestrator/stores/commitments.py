"""Commitments (告知承诺): a check replaced by the applicant's word, verified afterwards by the
department. Each verdict is kept once per application and material; a false commitment stays
on record, under the applicant's pseudonym (never the ID number), for operators and credit
supervision to see."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from infra.database import commitments
from orchestrator.errors import AlreadyVerified


class CommitmentVerdict(BaseModel):
    """A department's finding on a commitment the applicant made instead of a material."""

    material: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    department: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2,16}$",
        description="The department that verified it: a department key's own (another is "
        "refused); an operator names it.",
    )
    kept: bool = Field(description="False: the commitment was found untrue.")
    note: str = Field(default="", max_length=500)


class VerifiedCommitment(CommitmentVerdict):
    department: str = Field(pattern=r"^[a-z]{2,16}$")
    application_id: str
    applicant_ref: str
    at: datetime


class CommitmentBook:
    def __init__(self, db: Engine) -> None:
        self._db = db

    def record(self, verified: VerifiedCommitment) -> None:
        row = {**verified.model_dump(), "kept": int(verified.kept), "at": verified.at.isoformat()}
        try:
            with self._db.begin() as connection:
                connection.execute(insert(commitments), row)
        except IntegrityError as exc:
            raise AlreadyVerified(f"{verified.material} was verified already") from exc

    def broken(self) -> list[VerifiedCommitment]:
        """Every commitment found untrue, newest first."""
        query = select(commitments).where(commitments.c.kept == 0).order_by(commitments.c.at.desc())
        with self._db.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            VerifiedCommitment.model_validate({**row, "kept": bool(row["kept"])}) for row in rows
        ]
