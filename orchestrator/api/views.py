"""What the applicant is shown beyond the progress document: who saw their data.

Every dispatch of an application (an undo too), with the fields its department received.

Derived from the workflow's record of its dispatches (the plan snapshot's minimised payloads,
upstream outputs and supplements), never kept by hand.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

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
