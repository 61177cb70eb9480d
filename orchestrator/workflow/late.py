"""LateUndoWorkflow: an approval that came after its task was given up is undone through the
same way back as any other, so it is retried, escalated to an operator, and recorded.

The results bridge starts one per late approval, with the id `names.late_undo_id`
(a duplicate of that approval finds it started already). It publishes the task's state changes
for the application, never an application status: the application has ended or is ending.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from one_things.plan import ExecutionPlan
    from one_things.workdays import WorkingCalendar
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import (
        ApplicationInput,
        ApplicationStatus,
        LateApproval,
        Progress,
        TaskProgress,
        TaskState,
    )
    from orchestrator.workflow.names import LATE_UNDO_WORKFLOW

from orchestrator.workflow.way_back import WayBack

__all__ = ["LateUndoWorkflow"]


@workflow.defn(name=LATE_UNDO_WORKFLOW)
class LateUndoWorkflow(WayBack):
    """Undoes one late approval: confirmed, refused for a reason, or decided by an operator."""

    @workflow.run
    async def run(self, late: LateApproval) -> Progress:
        task, now = late.task, workflow.now()
        self._inp = ApplicationInput(
            application_id=late.application_id,
            plan=ExecutionPlan(
                one_thing=late.one_thing,
                catalogue_version=late.catalogue_version,
                tasks=[task],
                # without the application's calendar, Monday to Friday count
                calendar=late.calendar or (WorkingCalendar() if task.working_days else None),
            ),
            submitted_at=now,
            undo_attempts=late.undo_attempts,
            revision=late.revision,
        )
        self._planned_by_id = {task.task_id: task}
        self._sent[task.task_id] = dict(task.payload)
        state = TaskProgress.planned(task)
        state.attempt, state.outputs, state.completed_at = late.attempt, late.outputs, now
        state.department_reference = late.department_reference
        given_up = f"approved after the task was {late.given_up_as.value}"
        state.enter(TaskState.APPROVED, now, given_up)
        progress = self._progress = Progress(
            id=late.application_id,
            one_thing=late.one_thing,
            catalogue_version=late.catalogue_version,
            submitted_at=now,
            status=ApplicationStatus.COMPENSATING,
            tasks=[state],
        )
        self._ending = (ApplicationStatus.REJECTED, given_up)
        announcer = asyncio.ensure_future(self._announce())
        await self._despite_cancellation(self._undo(task.task_id))
        progress.status = ApplicationStatus.REJECTED  # the approval is not taken, whatever came
        progress.reason = steps.ending_reason(f"{state.title}: {given_up}", self._not_undone)
        progress.completed_at = workflow.now()
        self._index()
        self._closing = True
        await self._despite_cancellation(announcer)
        return progress
