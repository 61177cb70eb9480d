"""Ratings (好差评): the applicant rates each ended task once, 1 to 5, with a comment.

Kept in the shared database (`infra/database.py`), one row per task (the primary key makes
"once per task" hold under concurrent requests, from any API replica). Aggregates follow the
national rating scheme: 5 非常满意 … 1 非常不满意; a rating of 2 or less is a poor rating
(差评) and is followed up.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Engine, case, func, insert, select
from sqlalchemy.exc import IntegrityError

from infra.database import ratings
from orchestrator.errors import AlreadyRated

POOR = 2


class Rating(BaseModel):
    score: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    comment: str = Field(default="", max_length=500)


class RatingSummary(BaseModel):
    department: str
    matter: str
    count: int
    mean: float
    poor_share: float = Field(description="Share of ratings of 2 or less (差评率).")


class RatingBook:
    def __init__(self, db: Engine) -> None:
        self._db = db

    def add(
        self,
        application_id: str,
        task_id: str,
        department: str,
        matter: str,
        rating: Rating,
        at: datetime,
    ) -> None:
        row = {
            "application_id": application_id,
            "task_id": task_id,
            "department": department,
            "matter": matter,
            "score": rating.score,
            "comment": rating.comment,
            "at": at.isoformat(),
        }
        try:
            with self._db.begin() as connection:
                connection.execute(insert(ratings), row)
        except IntegrityError as exc:
            raise AlreadyRated(task_id) from exc

    def summary(self) -> list[RatingSummary]:
        poor = case((ratings.c.score <= POOR, 1.0), else_=0.0)
        query = (
            select(
                ratings.c.department,
                ratings.c.matter,
                func.count(),
                func.avg(ratings.c.score),
                func.avg(poor),
            )
            .group_by(ratings.c.department, ratings.c.matter)
            .order_by(ratings.c.department, ratings.c.matter)
        )
        with self._db.connect() as connection:
            rows = connection.execute(query).all()
        return [
            RatingSummary(
                department=d,
                matter=m,
                count=n,
                mean=round(float(mean), 2),
                poor_share=round(float(poor_share), 3),
            )
            for d, m, n, mean, poor_share in rows
        ]
