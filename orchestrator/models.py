"""Workflow-side models: the workflow's input, its activities' inputs, and progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from events.contracts import Outcome
from one_things.plan import ExecutionPlan, PlannedTask, SkippedMatter


class ApplicationStatus(StrEnum):
    RUNNING = "running"
    APPROVED = "approved"
    REJECTED = "rejected"


class TaskState(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApplicationInput(BaseModel):
    """Everything one application's workflow needs: the plan snapshot rides in here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str
    plan: ExecutionPlan
    submitted_at: datetime
    dispatch_attempts: int = Field(default=3, ge=1)


class DispatchTask(BaseModel):
    """Input of the `dispatch_task` activity: one command to publish."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str
    one_thing: str
    task: PlannedTask
    payload: dict[str, JsonValue]
    trace_id: str


class TaskAnswer(BaseModel):
    """What the results bridge completes a `dispatch_task` activity with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Outcome
    attempt: int
    outputs: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    supplement_fields: list[str] = Field(default_factory=list)
    department_reference: str | None = None


class TaskProgress(BaseModel):
    """One task as the applicant sees it."""

    task_id: str
    matter: str
    title: str
    department: str
    state: TaskState = TaskState.PENDING
    attempt: int = 0
    depends_on: list[str] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    dispatched_at: datetime | None = None
    completed_at: datetime | None = None


class Progress(BaseModel):
    """The progress document of one application (GET /v1/applications/{id})."""

    id: str
    one_thing: str
    catalogue_version: str
    status: ApplicationStatus = ApplicationStatus.RUNNING
    reason: str | None = None
    submitted_at: datetime
    completed_at: datetime | None = None
    tasks: list[TaskProgress]
    skipped: list[SkippedMatter] = Field(default_factory=list)

    def task(self, task_id: str) -> TaskProgress:
        return next(t for t in self.tasks if t.task_id == task_id)

    @property
    def finished(self) -> bool:
        return self.status is not ApplicationStatus.RUNNING
