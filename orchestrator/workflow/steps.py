"""The workflow's pure decisions: which tasks are ready, what a task is sent, which e-licences
an approval issues, why a dispatch failed. No Temporal calls: unit tested without a server."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from pydantic import JsonValue
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

from events.contracts import Action
from one_things.licences import licence_id
from one_things.materials import PlannedMaterial
from one_things.plan import ExecutionPlan, PlannedStart, PlannedTask
from one_things.workdays import CHINA
from orchestrator.errors import OneThingError
from orchestrator.workflow.models import LicenceToIssue, TaskState

Outputs = Mapping[str, Mapping[str, str]]  # task id -> its outputs
LEAST_WAIT = timedelta(seconds=1)  # a dispatch made as its task falls due still waits this


class MissingUpstream(OneThingError, ValueError):
    """A task needs an output its upstream task did not give."""


def ready(plan: ExecutionPlan, states: Mapping[str, TaskState]) -> list[PlannedTask]:
    """Pending tasks whose every dependency is approved, in plan order."""
    return [
        task
        for task in plan.tasks
        if states[task.task_id] is TaskState.PENDING
        and all(states[d] is TaskState.APPROVED for d in task.depends_on)
    ]


def promised(task: PlannedTask, plan: ExecutionPlan, first_dispatch: datetime) -> datetime | None:
    """When a matter limited in working days is due: from its first dispatch, however many
    follow (None for a duration, which each dispatch has again)."""
    if task.working_days is None:
        return None
    assert plan.calendar is not None  # the plan's own check
    return plan.calendar.deadline(first_dispatch, task.working_days)


def time_limit(
    task: PlannedTask, plan: ExecutionPlan, now: datetime, due: datetime | None = None
) -> timedelta:
    """How long a dispatch made `now` may wait: its duration, or until the task is `due` (the
    end of its last working day from `now`, if not given), no longer than a cap if there is
    one, and never less than a second."""
    limits = []
    if task.time_limit_seconds is not None:
        limits.append(timedelta(seconds=task.time_limit_seconds))
    if task.working_days is not None:
        assert plan.calendar is not None  # the plan's own check
        limits.append((due or plan.calendar.deadline(now, task.working_days)) - now)
    return max(min(limits), LEAST_WAIT)


def overall_deadline(plan: ExecutionPlan, submitted_at: datetime) -> datetime | None:
    """When the one thing's own time limit runs out, if the plan has one."""
    if plan.time_limit is None:
        return None
    if plan.time_limit.working_days is not None:
        assert plan.calendar is not None
        return plan.calendar.deadline(submitted_at, plan.time_limit.working_days)
    assert plan.time_limit.duration is not None
    return submitted_at + plan.time_limit.duration


def payload(
    task: PlannedTask,
    supplied: Mapping[str, JsonValue],
    outputs: Outputs,
    titles: Mapping[str, str],
) -> dict[str, JsonValue]:
    """The plan's minimised payload, the supplements, and the upstream outputs it needs."""
    sent: dict[str, JsonValue] = {**task.payload, **supplied}
    for key, ref in task.upstream.items():
        source, _, output = ref.partition(".")
        value = outputs.get(source, {}).get(output)
        if value is None:
            raise MissingUpstream(f"{titles.get(source, source)} gave no {output}")
        sent[key] = value
    return sent


def undo_action(task: PlannedTask) -> Action:
    return Action.VOID if task.irreversible else Action.COMPENSATE


def licences_to_issue(
    application_id: str, plan: ExecutionPlan, outputs: Outputs, approved: Collection[str]
) -> list[LicenceToIssue]:
    """The e-licences of the approved tasks' document outputs, for their holders."""
    licences = []
    for task in plan.tasks:
        holder = task.licence_holder
        if task.licence_holder_output is not None:
            source, _, output = task.licence_holder_output.partition(".")
            holder = outputs.get(source, {}).get(output)
        if not task.licences or holder is None or task.task_id not in approved:
            continue
        for kind in dict.fromkeys(task.licences.values()):
            licences.append(
                LicenceToIssue(
                    id=licence_id(kind, application_id, task.task_id),
                    type=kind,
                    issuer=task.department,
                    holder=holder,
                    task_id=task.task_id,
                    data={**task.payload, **outputs.get(task.task_id, {})},
                )
            )
    return licences


def startable(start: PlannedStart, approved: Collection[str]) -> bool:
    """Whether every task whose output the started one thing takes was approved."""
    return all(ref.partition(".")[0] in approved for ref in start.outputs.values())


def proactive_form(start: PlannedStart, outputs: Outputs) -> dict[str, JsonValue]:
    """The form of a one thing an approval starts: its fixed values and the outputs it takes."""
    form: dict[str, JsonValue] = dict(start.values)
    for field, ref in start.outputs.items():
        task_id, _, output = ref.partition(".")
        form[field] = outputs.get(task_id, {}).get(output)
    return form


def why_failed(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ActivityTimeoutError):
        return "no answer from the department within its time limit"
    if isinstance(cause, ApplicationError):
        return f"the department could not handle it: {cause.message}"
    return "the task could not be dispatched"


def ending_reason(reason: str, not_undone: list[str]) -> str:
    """The application's reason, naming what could not be undone and why."""
    return reason + ("; not undone: " + "; ".join(not_undone) if not_undone else "")


def dependants(plan: ExecutionPlan, task_id: str) -> set[str]:
    """The tasks that depend on `task_id`, directly or through others."""
    found: set[str] = set()
    frontier = {task_id}
    while frontier:
        frontier = {t.task_id for t in plan.tasks if set(t.depends_on) & frontier} - found
        found |= frontier
    return found


def reminder_at(material: PlannedMaterial, submitted_at: datetime) -> datetime:
    """When to remind the applicant of a promised material: a day before it is due, or half
    way there if the promise is shorter than two days."""
    assert material.due is not None
    return material.due - min(timedelta(days=1), (material.due - submitted_at) / 2)


def local_time(moment: datetime) -> str:
    """A moment as an applicant reads it: China's time, to the minute."""
    return f"{moment.astimezone(CHINA):%Y-%m-%d %H:%M}"
