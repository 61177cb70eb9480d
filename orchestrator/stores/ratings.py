"""Ratings (好差评): the applicant rates each ended task once, 1 to 5, with a comment.

Kept in SQLite beside the deployment's state, one row per task (the primary key makes "once
per task" hold under concurrent requests). Aggregates follow the national rating scheme:
5 非常满意 … 1 非常不满意; a rating of 2 or less is a poor rating (差评) and is followed up.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from infra.sqlite import open_store
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
    def __init__(self, db: Path) -> None:
        self._db = open_store(
            db,
            "create table if not exists ratings (application_id text, task_id text,"
            " department text, matter text, score integer, comment text, at text,"
            " primary key (application_id, task_id))",
        )

    def add(
        self,
        application_id: str,
        task_id: str,
        department: str,
        matter: str,
        rating: Rating,
        at: datetime,
    ) -> None:
        try:
            self._db.execute(
                "insert into ratings values (?, ?, ?, ?, ?, ?, ?)",
                (
                    application_id,
                    task_id,
                    department,
                    matter,
                    rating.score,
                    rating.comment,
                    at.isoformat(),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise AlreadyRated(task_id) from exc

    def summary(self) -> list[RatingSummary]:
        rows = self._db.execute(
            "select department, matter, count(*), avg(score), avg(score <= ?) from ratings"
            " group by department, matter order by department, matter",
            (POOR,),
        )
        return [
            RatingSummary(
                department=d, matter=m, count=n, mean=round(mean, 2), poor_share=round(poor, 3)
            )
            for d, m, n, mean, poor in rows
        ]
