"""Workflow-side models: the workflow's input and updates, its activities' inputs, progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field, JsonValue

from events.contracts import (
    Action,
    ApplicationStatusChanged,
    Contract,
    Outcome,
    TaskStateChanged,
)
from one_things.materials import PlannedMaterial
from one_things.plan import ExecutionPlan, PlannedTask, SkippedMatter
from one_things.workdays import WorkingCalendar


class ApplicationStatus(StrEnum):
    RUNNING = "running"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    COMPENSATING = "compensating"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"  # what could go on without a refused matter did
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


FINAL_STATUSES = frozenset(
    {
        ApplicationStatus.APPROVED,
        ApplicationStatus.PARTIALLY_APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.WITHDRAWN,
    }
)


class TaskState(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"  # the department took it in, no decision yet
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    VOIDED = "voided"
    UNDO_REFUSED = "undo_refused"  # the department cannot undo it, and said why
    UNDO_ESCALATED = "undo_escalated"  # the undo kept failing: an operator decides


class Record(Contract):
    """A part of the workflow's own record: it changes as the application moves on."""

    model_config = ConfigDict(frozen=False)


class ApplicationInput(Contract):
    """Everything one application's workflow needs: the plan snapshot rides in here."""

    application_id: str
    plan: ExecutionPlan
    submitted_at: datetime
    dispatch_attempts: int = Field(default=3, ge=1)
    undo_attempts: int = Field(default=5, ge=1)
    supplement_time_limit_seconds: float = Field(default=30 * 86400, gt=0)
    submitted_by: str | None = Field(default=None, description="The portal that submitted it.")
    revision: int = Field(
        default=0, ge=0, description="The workflow code's revision the run started on."
    )
    redelivery_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a command waits for an answer or a receipt before it is sent "
        "again (doubling each time, up to an hour); from revision 2.",
    )


class LateApproval(Contract):
    """Input of the late-undo workflow: an approval that came after its task was given up
    (cancelled, failed, rejected), so the department's record is undone like any other."""

    application_id: str
    one_thing: str
    task: PlannedTask = Field(description="The task as the application planned it.")
    attempt: int = Field(ge=1, description="The dispatch the late approval answered.")
    outputs: dict[str, str] = Field(default_factory=dict, description="What the approval issued.")
    catalogue_version: str
    given_up_as: TaskState = Field(description="The task's state when the approval came.")
    department_reference: str | None = Field(
        default=None, description="The department's reference of the act the approval did."
    )
    revision: int = Field(default=0, ge=0, description="The workflow revision it starts on.")
    undo_attempts: int = Field(default=5, ge=1)
    calendar: WorkingCalendar | None = Field(
        default=None, description="The application's working days, for a limit counted on them."
    )


class PublishCommand(Contract):
    """Input of the `publish_command` activity: one dispatch of a task to its department."""

    application_id: str
    one_thing: str
    task: PlannedTask
    payload: dict[str, JsonValue]
    trace_id: str
    action: Action = Action.HANDLE
    attempt: int = Field(ge=1)
    deadline: datetime
    awaiting: str = Field(description="The id of the activity that waits for the answer.")
    materials: list[PlannedMaterial] = Field(
        default_factory=list, description="The materials sent with a handle command."
    )
    announce: list[TaskStateChanged] = Field(
        default_factory=list, description="The task's state changes, sent with the command."
    )


class Announcements(Contract):
    """Input of the `publish_events` activity: what changed since the last announcement."""

    tasks: list[TaskStateChanged] = Field(default_factory=list)
    statuses: list[ApplicationStatusChanged] = Field(default_factory=list)


class PublishCommands(Contract):
    """Input of the `publish_commands` activity: the dispatches one workflow task made."""

    commands: list[PublishCommand] = Field(min_length=1)
    announce: Announcements | None = Field(
        default=None, description="What else changed in that workflow task, sent with them."
    )


class Awaiting(Contract):
    """Input of the `await_answer` activity: which dispatch it waits for, and the names (never
    the values) of the fields sent, so its history tells the story of the dispatch."""

    task_id: str
    department: str
    action: Action
    attempt: int
    fields: list[str]


class LicenceToIssue(Contract):
    """One e-licence an approved task issued (see `one_things.licences`)."""

    id: str
    type: str
    issuer: str
    holder: str
    task_id: str
    data: dict[str, JsonValue]


class IssueLicences(Contract):
    """Input of the `issue_licences` activity: the e-licences of an approved application."""

    application_id: str
    licences: list[LicenceToIssue]


class StartProactive(Contract):
    """Input of the `start_proactive` activity: a one thing an approval starts (免申即享)."""

    parent_id: str
    one_thing: str
    applicant: dict[str, JsonValue]
    form: dict[str, JsonValue]
    submitted_by: str | None


class TaskAnswer(Contract):
    """What the results bridge completes an `await_answer` activity with."""

    outcome: Outcome
    attempt: int
    outputs: dict[str, str] = Field(default_factory=dict)
    reason: str | None = None
    supplement_fields: list[str] = Field(default_factory=list)
    department_reference: str | None = None


class Withdrawal(Contract):
    """Update `withdraw`: the applicant gives the application up."""

    reason: str = Field(min_length=1, max_length=500)


class Supplement(Contract):
    """Update `supplement`: the fields a department asked for (补正)."""

    task_id: str
    fields: dict[str, JsonValue]


class SuppliedMaterial(Contract):
    """Update `supply_material`: a promised material (容缺), uploaded."""

    material: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class BrokenCommitment(Contract):
    """Update `commitment_broken`: a department found a commitment (告知承诺) untrue."""

    material: str
    department: str
    note: str = ""


class TakenIn(Contract):
    """Signal `taken_in`: a department answered `accepted` to a dispatch (sent by the bridge)."""

    task_id: str
    attempt: int = Field(ge=1)


class OperatorDecision(StrEnum):
    RETRY = "retry"  # dispatch an escalated task, or send an escalated undo, again
    FAIL = "fail"  # an escalated task fails: the application is rejected
    RESOLVE = "resolve"  # an escalated undo was settled by hand


ESCALATED_DECISIONS = {
    TaskState.ESCALATED: (OperatorDecision.RETRY, OperatorDecision.FAIL),
    TaskState.UNDO_ESCALATED: (OperatorDecision.RETRY, OperatorDecision.RESOLVE),
}


class OperatorAction(Contract):
    """Update `operator`: what an operator decided about an escalated task or undo."""

    task_id: str
    decision: OperatorDecision
    reason: str = "operator decision"


class TimelineEntry(Record):
    """One step of a task, like a parcel's scan: what happened, when, at which attempt."""

    at: datetime
    state: TaskState
    attempt: int
    detail: str | None = None
    fields: list[str] | None = Field(
        default=None, description="On a dispatch: the fields the department received."
    )


class TaskProgress(Record):
    """One task as the applicant sees it."""

    task_id: str
    matter: str
    title: str
    department: str
    state: TaskState = TaskState.PENDING
    attempt: int = 0
    depends_on: list[str] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    department_reference: str | None = Field(
        default=None, description="The department's own reference of the act it approved."
    )
    reason: str | None = None
    supplement_fields: list[str] = Field(default_factory=list)
    dispatched_at: datetime | None = None
    completed_at: datetime | None = None
    compensated_at: datetime | None = None
    time_limit_seconds: float | None = Field(default=None, description="承诺时限 of the matter.")
    working_days: int | None = Field(
        default=None, description="承诺时限 in working days: the deadline is a working day's end."
    )
    deadline: datetime | None = Field(
        default=None, description="While dispatched: when the department's time limit runs out."
    )
    time_left_seconds: float | None = Field(
        default=None, description="Until the deadline, when the progress was read."
    )
    timeline: list[TimelineEntry] = Field(default_factory=list)

    @classmethod
    def planned(cls, task: PlannedTask) -> TaskProgress:
        """The task as it starts: pending."""
        return cls(
            task_id=task.task_id,
            matter=task.matter,
            title=task.title,
            department=task.department,
            depends_on=task.depends_on,
            time_limit_seconds=task.time_limit_seconds,
            working_days=task.working_days,
        )

    def enter(
        self,
        state: TaskState,
        at: datetime,
        detail: str | None = None,
        fields: list[str] | None = None,
    ) -> None:
        """Move to `state` and note it on the timeline."""
        self.state = state
        if state not in (TaskState.DISPATCHED, TaskState.ACCEPTED):  # its time limit runs on
            self.deadline = None
        self.timeline.append(
            TimelineEntry(at=at, state=state, attempt=self.attempt, detail=detail, fields=fields)
        )


class Progress(Record):
    """The progress document of one application (GET /v1/applications/{id})."""

    id: str
    one_thing: str
    catalogue_version: str
    lead_department: str | None = Field(default=None, description="牵头部门 of the one thing.")
    time_limit: str | None = Field(
        default=None, description="The one thing's 承诺时限 (P5WD: five working days)."
    )
    deadline: datetime | None = Field(
        default=None, description="When that time limit runs out: a working day's end, in China."
    )
    status: ApplicationStatus = ApplicationStatus.RUNNING
    reason: str | None = None
    submitted_at: datetime
    completed_at: datetime | None = None
    supplement_due_at: datetime | None = None
    tasks: list[TaskProgress]
    skipped: list[SkippedMatter] = Field(default_factory=list)
    materials: list[PlannedMaterial] = Field(
        default_factory=list, description="Its materials, a promised one as it stands now."
    )
    licences: list[str] = Field(default_factory=list, description="E-licences it issued.")
    started: list[str] = Field(
        default_factory=list, description="Applications its approval started (免申即享)."
    )

    def find(self, task_id: str) -> TaskProgress | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def task(self, task_id: str) -> TaskProgress:
        found = self.find(task_id)
        if found is None:
            raise KeyError(task_id)
        return found

    def undone(self) -> list[TaskProgress]:
        """The tasks compensated or voided, in the order they were undone."""
        pairs = [(t.compensated_at, i) for i, t in enumerate(self.tasks) if t.compensated_at]
        return [self.tasks[i] for _, i in sorted(pairs)]

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def closed(self) -> bool:
        """Ended, or being undone: nothing the applicant sends changes it any more."""
        return self.finished or self.status is ApplicationStatus.COMPENSATING
