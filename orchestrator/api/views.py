"""What the applicant is shown beyond the progress document: who saw their data.

Every dispatch of an application (an undo too), with the fields its department received.

Derived from the workflow's record of its dispatches (the plan snapshot's minimised payloads,
upstream outputs and supplements), never kept by hand.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from orchestrator.stores.audit import AuditEntry
from orchestrator.workflow.models import Progress, TaskState


class DataAccess(BaseModel):
    """One access to the applicant's data: a department sent fields, or someone read them."""

    at: datetime
    kind: str = Field(default="dispatch", description="dispatch, or read.")
    who: str = Field(description="The department, portal or operator key.")
    what: str = Field(description="The matter's title, or what was read.")
    why: str = Field(default="", description="What the read was for.")
    department: str = ""
    matter: str = ""
    title: str = ""
    attempt: int = 0
    fields: list[str] = Field(default_factory=list)


def data_accesses(progress: Progress, reads: list[AuditEntry]) -> list[DataAccess]:
    """Every dispatch that sent fields and every read of the audit trail, oldest first."""
    accesses = [
        DataAccess(
            at=entry.at,
            who=task.department,
            what=task.title,
            why=task.matter,
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
    accesses += [
        DataAccess(
            at=read.at,
            kind="read",
            who=read.actor,
            what=str(read.detail.get("what", "")),
            why=str(read.detail.get("why", "")),
        )
        for read in reads
        if read.kind == "read"
    ]
    return sorted(accesses, key=lambda a: a.at)
