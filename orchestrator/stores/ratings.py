"""Ratings (好差评): the applicant rates each ended task once, and the whole application once
(一事一评, task `*`), 1 to 5, with a comment.

Kept in the shared database (`infra/database.py`), one row per task (the primary key makes
"once per task" hold under concurrent requests, from any API replica). Aggregates follow the
national rating scheme: 5 非常满意 … 1 非常不满意; a rating of 2 or less is a poor rating
(差评): it names its reasons and opens a follow-up (差评整改), assigned to the department, to
be answered by a due time; the answer is told to the applicant; operators list those overdue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

import orjson
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from infra.database import follow_ups, ratings
from orchestrator.errors import AlreadyRated

POOR = 2


WHOLE = "*"  # the task id of a rating of the whole application


class PoorReason(StrEnum):
    """Why a rating is poor: the national scheme's choices."""

    SLOW = "办理时间长 took too long"
    MATERIALS = "材料重复提交 documents asked for again"
    PROCESS = "办事流程繁琐 too many steps"
    UNCLEAR = "政策解释不清 rules not explained"
    ATTITUDE = "服务态度差 poor attitude"
    SYSTEM = "系统操作不便 hard to use online"
    OTHER = "其他 other"


class Rating(BaseModel):
    score: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    comment: str = Field(default="", max_length=500)
    reasons: list[PoorReason] = Field(
        default_factory=list, max_length=7, description="Why, for a rating of 2 or less."
    )

    @model_validator(mode="after")
    def _poor_says_why(self) -> Self:
        if self.score <= POOR and not self.reasons:
            raise ValueError("reasons: a rating of 2 or less picks at least one reason")
        return self


class FollowUp(BaseModel):
    """A poor rating's follow-up: the department's answer, due by `due_at`."""

    application_id: str
    task_id: str
    department: str
    matter: str
    score: int
    reasons: list[str]
    opened_at: datetime
    due_at: datetime
    answered_at: datetime | None = None
    answer: str | None = None
    answered_by: str | None = None

    def state(self, now: datetime) -> str:
        if self.answered_at is not None:
            return "answered"
        return "overdue" if now > self.due_at else "open"


class Answer(BaseModel):
    answer: str = Field(min_length=1, max_length=1000, description="What was checked and fixed.")


class RatingSummary(BaseModel):
    department: str
    matter: str
    count: int
    mean: float
    poor_share: float = Field(description="Share of ratings of 2 or less (差评率).")
    follow_ups: dict[str, int] = Field(
        default_factory=dict, description="Follow-ups of its poor ratings: open, overdue, answered."
    )


class RatingBook:
    def __init__(self, db: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._db = db
        self._clock = clock

    def add(
        self,
        application_id: str,
        task_id: str,
        department: str,
        matter: str,
        rating: Rating,
        at: datetime,
        due: datetime | None = None,
    ) -> FollowUp | None:
        """Keep the rating, and open its follow-up if it is poor (due by `due`)."""
        reasons = [reason.value for reason in rating.reasons]
        row = {
            "application_id": application_id,
            "task_id": task_id,
            "department": department,
            "matter": matter,
            "score": rating.score,
            "comment": rating.comment,
            "at": at.isoformat(),
            "reasons": orjson.dumps(reasons).decode(),
        }
        follow_up = None
        if rating.score <= POOR:
            follow_up = FollowUp(
                application_id=application_id,
                task_id=task_id,
                department=department,
                matter=matter,
                score=rating.score,
                reasons=reasons,
                opened_at=at,
                due_at=due or at,
            )
        try:
            with self._db.begin() as connection:
                connection.execute(insert(ratings), row)
                if follow_up is not None:
                    connection.execute(insert(follow_ups), _row(follow_up))
        except IntegrityError as exc:
            raise AlreadyRated(task_id) from exc
        return follow_up

    def answer(self, application_id: str, task_id: str, answer: Answer, by: str) -> FollowUp:
        """Record the department's answer, once; KeyError if there is no such follow-up."""
        where = (follow_ups.c.application_id == application_id) & (follow_ups.c.task_id == task_id)
        with self._db.begin() as connection:
            done = connection.execute(
                update(follow_ups)
                .where(where & follow_ups.c.answered_at.is_(None))
                .values(answered_at=self._clock().isoformat(), answer=answer.answer, answered_by=by)
            )
            found = connection.execute(select(follow_ups).where(where)).mappings().first()
        if found is None:
            raise KeyError(task_id)
        if done.rowcount == 0:
            raise AlreadyRated(f"the follow-up of {task_id!r} was answered already")
        return _follow_up(found)

    def follow_ups(self) -> list[FollowUp]:
        """Every follow-up, the longest due first."""
        with self._db.connect() as connection:
            rows = connection.execute(select(follow_ups).order_by(follow_ups.c.due_at)).mappings()
            return [_follow_up(row) for row in rows]

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
        now = self._clock()
        loops: dict[tuple[str, str], Counter[str]] = {}
        for follow_up in self.follow_ups():
            key = (follow_up.department, follow_up.matter)
            loops.setdefault(key, Counter())[follow_up.state(now)] += 1
        return [
            RatingSummary(
                department=d,
                matter=m,
                count=n,
                mean=round(float(mean), 2),
                poor_share=round(float(poor_share), 3),
                follow_ups=dict(loops.get((d, m), {})),
            )
            for d, m, n, mean, poor_share in rows
        ]


def _row(follow_up: FollowUp) -> dict[str, object]:
    return {
        **follow_up.model_dump(exclude={"reasons"}),
        "reasons": orjson.dumps(follow_up.reasons).decode(),
        "opened_at": follow_up.opened_at.isoformat(),
        "due_at": follow_up.due_at.isoformat(),
    }


def _follow_up(row: Any) -> FollowUp:
    return FollowUp.model_validate({**row, "reasons": orjson.loads(row["reasons"])})
