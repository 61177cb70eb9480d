"""Ratings as the national scheme has them (好差评): each ended task and the whole application
rated once; a poor rating names its reasons and opens a follow-up assigned to the department,
due within `follow_up_working_days`; the department's answer is told to the applicant;
operators see the loop's state and what is overdue."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from events import topics
from events.contracts import ApplicationStatusChanged, PoorRatingReceived
from events.envelope import HEADERS, dumps, wrap
from infra.logging import get_logger
from infra.message_signing import signed
from infra.settings import Settings
from one_things import workdays
from orchestrator.api.applicants import ApplicationId, TaskId
from orchestrator.api.auth import Caller
from orchestrator.api.services import Services
from orchestrator.errors import AlreadyRated
from orchestrator.stores.ratings import WHOLE, Answer, FollowUp, Rating, RatingSummary
from orchestrator.workflow.models import Progress, TaskState

log = get_logger(__name__)
ENDED_TASK_STATES = frozenset(
    {
        TaskState.APPROVED,
        TaskState.REJECTED,
        TaskState.FAILED,
        TaskState.COMPENSATED,
        TaskState.VOIDED,
    }
)
FollowedTask = Annotated[
    str, Path(pattern=r"^(\*|[a-z][a-z0-9_]{0,63})$", description="A task, or `*`.")
]
FOLLOWED_UP = "follow_up_answered"  # the status a follow-up's answer is told to the applicant as


def record_of(request: Request, application_id: str) -> str:
    """Where a rating is kept: the application's record."""
    return str(request.url_for("progress", application_id=application_id))


def rated_department(progress: Progress, task_id: str) -> str:
    """The department a rating of `task_id` (`*`: the whole application) goes to."""
    if task_id == WHOLE:
        return progress.lead_department or "onething"
    task = progress.find(task_id)
    if task is None:
        raise HTTPException(404, f"no task {task_id!r} in this application")
    return task.department


def ratings_router(
    settings: Settings,
    up: Callable[[], Services],
    current: Callable[[str, Caller], Awaitable[Progress]],
    sides: dict[str, Any],
    departments_side: Any,
) -> APIRouter:
    router = APIRouter()
    calendar = workdays.official(settings.working_calendar)

    def due(now: datetime) -> datetime:
        days, cap = settings.follow_up_working_days, settings.time_limit_cap_seconds
        return calendar.deadline_within(now, days, cap)

    # the applicant hears of a follow-up's answer only if it is signed: without a status key
    # here it is announced to operators alone
    statuses = settings.signer("status")

    async def announce(event: PoorRatingReceived | ApplicationStatusChanged) -> None:
        if isinstance(event, ApplicationStatusChanged) and statuses is not None:
            event = signed(event, statuses)
        await up().producer.send(
            topics.STATUS, dumps(wrap(event)), key=topics.key(event.application_id), headers=HEADERS
        )

    async def keep(
        progress: Progress, task_id: str, department: str, matter: str, rating: Rating
    ) -> None:
        now = datetime.now(UTC)
        try:
            follow_up = await asyncio.to_thread(
                up().ratings.add, progress.id, task_id, department, matter, rating, now, due(now)
            )
        except AlreadyRated as exc:
            raise HTTPException(409, f"{task_id!r} has been rated already") from exc
        if follow_up is not None:
            poor = PoorRatingReceived(
                application_id=progress.id,
                task_id=task_id,
                department=department,
                matter=matter,
                score=rating.score,
                comment=rating.comment,
                reasons=follow_up.reasons,
                due_at=follow_up.due_at,
                at=now,
            )
            await announce(poor)
        log.info("rated", application_id=progress.id, task_id=task_id, score=rating.score)

    @router.post("/v1/applications/{application_id}/tasks/{task_id}/rating", status_code=201)
    async def rate_task(
        application_id: ApplicationId,
        task_id: TaskId,
        rating: Rating,
        request: Request,
        response: Response,
        caller: Caller = sides["applicant_or_link"],
    ) -> dict[str, str]:
        """Rate an ended task once (好差评); a poor rating opens a follow-up. The rating is
        part of the application's record (`Location`)."""
        response.headers["Location"] = record_of(request, application_id)
        progress = await current(application_id, caller)
        task = progress.find(task_id)
        if task is None:
            raise HTTPException(404, f"no task {task_id!r} in this application")
        if task.state not in ENDED_TASK_STATES:
            raise HTTPException(409, f"task {task_id!r} is {task.state.value}: rate it once ended")
        await keep(progress, task_id, task.department, task.matter, rating)
        return {"id": application_id, "task_id": task_id, "status": "rated"}

    @router.post("/v1/applications/{application_id}/rating", status_code=201)
    async def rate_application(
        application_id: ApplicationId,
        rating: Rating,
        request: Request,
        response: Response,
        caller: Caller = sides["applicant_or_link"],
    ) -> dict[str, str]:
        """Rate the whole application once it has ended (一事一评); its follow-up, if poor,
        goes to the lead department."""
        response.headers["Location"] = record_of(request, application_id)
        progress = await current(application_id, caller)
        if not progress.closed:
            raise HTTPException(
                409, f"the application is {progress.status.value}: rate it once ended"
            )
        await keep(progress, WHOLE, rated_department(progress, WHOLE), progress.one_thing, rating)
        return {"id": application_id, "task_id": WHOLE, "status": "rated"}

    @router.get("/v1/ratings", dependencies=[sides["operators"]])
    async def ratings() -> list[RatingSummary]:
        """Ratings by department and matter: count, mean, share of poor ratings, and the
        state of their follow-ups (open, overdue, answered)."""
        return await asyncio.to_thread(up().ratings.summary)

    @router.get("/v1/follow-ups", dependencies=[sides["operators"]])
    async def follow_ups(
        state: Annotated[str | None, Query(pattern="^(open|overdue|answered)$")] = None,
    ) -> list[FollowUp]:
        """Poor ratings' follow-ups, the longest due first (`overdue`: not answered in time)."""
        now = datetime.now(UTC)
        every = await asyncio.to_thread(up().ratings.follow_ups)
        return [f for f in every if state is None or f.state(now) == state]

    @router.post("/v1/follow-ups/{application_id}/{task_id}", status_code=201)
    async def answer(
        application_id: ApplicationId,
        task_id: FollowedTask,
        body: Answer,
        response: Response,
        caller: Caller = departments_side,
    ) -> FollowUp:
        """The answer to a poor rating's follow-up (`*`: the whole application's), once, by
        the department of the rated task (the lead department's, for `*`); the applicant is
        told it."""
        progress = await current(application_id, caller)
        refused = caller.refuses(rated_department(progress, task_id))
        if refused:
            raise HTTPException(403, refused)
        try:
            answered = await asyncio.to_thread(
                up().ratings.answer, application_id, task_id, body, caller.name
            )
        except KeyError as exc:
            raise HTTPException(404, f"no follow-up of {task_id!r} in {application_id}") from exc
        except AlreadyRated as exc:
            raise HTTPException(409, str(exc)) from exc
        told = ApplicationStatusChanged(
            application_id=application_id,
            one_thing=progress.one_thing,
            status=FOLLOWED_UP,
            reason=body.answer,
            at=answered.answered_at or datetime.now(UTC),
        )
        await announce(told)
        response.headers["Location"] = "/v1/follow-ups"
        return answered

    return router
