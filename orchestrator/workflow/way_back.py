"""The way back: tasks in flight finish, what never ran is cancelled, and every completed
task is undone, newest first, each confirmed by its department, refused for a reason, or
decided by an operator before the next."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue

    from events.contracts import Action, Outcome
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import OperatorDecision, TaskAnswer, TaskProgress, TaskState

from orchestrator.workflow.exchange import Exchange

UNDO_STATES = {Action.COMPENSATE: TaskState.COMPENSATED, Action.VOID: TaskState.VOIDED}
UNDO_REFUSALS = {Outcome.REJECTED, Outcome.SUPPLEMENT_REQUIRED}
OPEN_STATES = {
    TaskState.PENDING,
    TaskState.DISPATCHED,
    TaskState.ACCEPTED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
}


class WayBack(Exchange):
    """Settles what is in flight and undoes what is done."""

    async def _settle(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Let tasks in flight finish (to be undone if need be); close what never ran."""
        while in_flight:  # one by one, so the order of completion is known
            await self._despite_cancellation(
                workflow.wait(list(in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            )
            self._record_finished(in_flight)
        now = workflow.now()
        for state in self._tasks():
            if state.state in OPEN_STATES:
                state.completed_at = now
                state.reason = "cancelled: the application ended"
                state.enter(TaskState.CANCELLED, now, state.reason)

    async def _undo_completed(self) -> None:
        for task_id in reversed(self._completion_order):
            await self._despite_cancellation(self._undo(task_id))

    def _undo_record(self, task_id: str, state: TaskProgress) -> dict[str, JsonValue]:
        """What an undo sends: from revision 5, what identifies the act (what the department
        issued and its own reference), not the applicant's data again; before, what the
        department received too."""
        assert self._inp is not None
        if self._inp.revision < 5:
            return {**self._sent.get(task_id, {}), **state.outputs}
        reference = {"department_reference": state.department_reference}
        return {**state.outputs, **(reference if state.department_reference else {})}

    async def _undo(self, task_id: str) -> None:
        """Undo one completed task: confirmed, refused for a reason, or decided by an operator."""
        task = self._planned_by_id[task_id]
        action = steps.undo_action(task)
        state = self._task(task_id)
        record = self._undo_record(task_id, state)
        state.enter(TaskState.COMPENSATING, workflow.now(), f"{action.value} sent", sorted(record))
        self._index()
        while True:
            try:
                answer = await self._undo_once(task, action, record)
            except ActivityError as err:
                detail = f"{action.value} not confirmed: {steps.why_failed(err)}"
                state.enter(TaskState.UNDO_ESCALATED, workflow.now(), detail)
                self._index()
                await workflow.wait_condition(lambda: task_id in self._decisions)
                decision = self._decisions.pop(task_id)
                if decision.decision is OperatorDecision.RESOLVE:
                    state.compensated_at = workflow.now()
                    detail = f"settled by hand by an operator: {decision.reason}"
                    state.enter(UNDO_STATES[action], state.compensated_at, detail)
                    return
                again = f"{action.value} sent again"
                state.enter(TaskState.COMPENSATING, workflow.now(), again, sorted(record))
                self._index()
                continue
            if answer.outcome in UNDO_REFUSALS:
                reason = answer.reason or "the department cannot undo it"
                state.enter(TaskState.UNDO_REFUSED, workflow.now(), reason)
                self._not_undone.append(f"{state.title}: {reason}")
                return
            state.compensated_at = workflow.now()
            state.enter(UNDO_STATES[action], state.compensated_at)
            if answer.department_reference:
                state.outputs = {
                    **state.outputs,
                    f"{action.value}_reference": answer.department_reference,
                }
            return
