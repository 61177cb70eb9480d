"""What the applicant is shown beyond the workflow's own record: who saw their data, and
which departments have taken their tasks in.

Who saw my data: every dispatch of an application (an undo too), with the fields its
department received.

Derived from the workflow's record of its dispatches (the plan snapshot's minimised payloads,
upstream outputs and supplements), never kept by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel
from temporalio.api.workflow.v1 import PendingActivityInfo

from orchestrator.workflow.models import Progress, TaskState


class DataAccess(BaseModel):
    at: datetime
    department: str
    matter: str
    title: str
    attempt: int
    fields: list[str]


def data_accesses(progress: Progress) -> list[DataAccess]:
    """Every dispatch that sent fields, oldest first."""
    accesses = [
        DataAccess(
            at=entry.at,
            department=task.department,
            matter=task.matter,
            title=task.title,
            attempt=entry.attempt,
            fields=entry.fields,
        )
        for task in progress.tasks
        for entry in task.timeline
        if entry.state in (TaskState.DISPATCHED, TaskState.COMPENSATING) and entry.fields
    ]
    return sorted(accesses, key=lambda a: a.at)


def note_acceptances(progress: Progress, pending: Iterable[PendingActivityInfo]) -> None:
    """Mark dispatched tasks whose department said it took them in (a heartbeat on the token)."""
    for activity in pending:
        payloads = activity.heartbeat_details.payloads
        if not payloads:
            continue
        detail = orjson.loads(payloads[0].data)
        task_id = activity.activity_id.split(":")[0]
        task = progress.find(task_id)
        if (
            task is not None
            and task.state is TaskState.DISPATCHED
            and detail.get("state") == "accepted"
            and detail.get("attempt", 0) >= task.attempt
        ):
            task.enter(
                TaskState.ACCEPTED,
                activity.last_heartbeat_time.ToDatetime(tzinfo=UTC),
                "taken in by the department",
            )
