"""Late results: an approval that comes after its task was given up is undone, not dropped.

The bridge only decides that it is late and starts the late-undo workflow; the undo goes out,
is retried, refused or escalated to an operator exactly as in the application's way back.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from events.contracts import TaskResult
from infra.settings import Settings
from one_things.plan import PlannedTask
from one_things.workdays import WorkingCalendar
from orchestrator.workflow.models import LateApproval, Progress, TaskState
from orchestrator.workflow.names import (
    LATE_UNDO_WORKFLOW,
    ONE_THING,
    PLAN_CALENDAR,
    PLANNED_TASK,
    PROGRESS,
    REVISION,
    late_undo_id,
)

GIVEN_UP = {TaskState.CANCELLED, TaskState.FAILED, TaskState.REJECTED}
QUERY_TIMEOUT = timedelta(seconds=5)  # a workflow that cannot answer must not hold the bridge


async def query_progress(handle: WorkflowHandle[Any, Any]) -> Progress:
    progress: Progress = await handle.query(
        PROGRESS, result_type=Progress, rpc_timeout=QUERY_TIMEOUT
    )
    return progress


async def undo_if_given_up(client: Client, result: TaskResult, settings: Settings) -> bool:
    """Start undoing a late approval if its task was given up; True if started by this call."""
    application = client.get_workflow_handle(result.application_id)
    try:
        progress = await query_progress(application)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    task = progress.find(result.task_id)
    if task is None or task.state not in GIVEN_UP:
        return False
    planned = await application.query(
        PLANNED_TASK, result.task_id, result_type=PlannedTask, rpc_timeout=QUERY_TIMEOUT
    )
    calendar = None
    if planned.working_days is not None:
        calendar = await application.query(
            PLAN_CALENDAR, result_type=WorkingCalendar, rpc_timeout=QUERY_TIMEOUT
        )
    late = LateApproval(
        application_id=result.application_id,
        one_thing=progress.one_thing,
        catalogue_version=progress.catalogue_version,
        task=planned,
        attempt=result.attempt,
        outputs=result.outputs,
        given_up_as=task.state,
        department_reference=result.department_reference,
        revision=REVISION,
        undo_attempts=settings.undo_attempts,
        calendar=calendar,
    )
    try:
        await client.start_workflow(
            LATE_UNDO_WORKFLOW,
            late,
            id=late_undo_id(result.application_id, result.task_id, result.attempt),
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ONE_THING, progress.one_thing)]
            ),
        )
    except WorkflowAlreadyStartedError:  # the same late approval, delivered again
        return False
    return True
