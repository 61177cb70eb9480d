"""Who saw my data: every dispatch of an application, with the fields its department received.

Derived from the workflow's record of its dispatches (the plan snapshot's minimised payloads,
upstream outputs and supplements), never kept by hand.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from orchestrator.models import Progress, TaskState


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
        if entry.state is TaskState.DISPATCHED and entry.fields
    ]
    return sorted(accesses, key=lambda a: a.at)
