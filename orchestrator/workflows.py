"""OneThingWorkflow: one per application; walks the plan DAG, dispatching ready tasks at once.

When the application cannot finish (a task is rejected for good, the applicant withdraws, a
supplement does not come in time, an operator fails an escalated task, or the workflow is
cancelled through Temporal) every completed task is undone, newest first, each confirmed by
its department before the next, and nothing cancels that.

Deterministic: no I/O, no clocks, no randomness; all of that lives in activities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue

    from events.contracts import Action, ApplicationStatusChanged, Outcome, TaskStateChanged
    from one_things.licences import licence_id
    from one_things.plan import PlannedTask
    from orchestrator.models import (
        ApplicationInput,
        ApplicationStatus,
        DispatchTask,
        IssueLicences,
        LicenceToIssue,
        OperatorAction,
        OperatorDecision,
        Progress,
        StartProactive,
        Supplement,
        TaskAnswer,
        TaskProgress,
        TaskState,
        Withdrawal,
    )

ONE_THING = SearchAttributeKey.for_keyword("OneThing")
APPLICATION_STATUS = SearchAttributeKey.for_keyword("ApplicationStatus")
PENDING_DEPARTMENTS = SearchAttributeKey.for_keyword_list("PendingDepartments")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
APPLICANT_REF = SearchAttributeKey.for_keyword("ApplicantRef")  # an HMAC, never the ID number
DISPATCH_TASK = "dispatch_task"
PUBLISH_STATUS = "publish_status"
PUBLISH_TASK_STATE = "publish_task_state"
ISSUE_LICENCES = "issue_licences"
START_PROACTIVE = "start_proactive"
# Versions of this workflow's history (workflow.patched): never reuse or reorder.
COMPENSATION = "compensation-v1"
ESCALATION = "escalation-v1"
LICENCES = "licences-v1"
SEARCH = "search-v1"
PROACTIVE = "proactive-v1"

T = TypeVar("T")
UNDO_STATES = {Action.COMPENSATE: TaskState.COMPENSATED, Action.VOID: TaskState.VOIDED}
WAITED_ON = {
    TaskState.DISPATCHED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
    TaskState.COMPENSATING,
}
OPEN_STATES = {
    TaskState.PENDING,
    TaskState.DISPATCHED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
}


@workflow.defn(name="OneThingWorkflow")
class OneThingWorkflow:
    """Runs one composite application from its plan snapshot to its end."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._inp: ApplicationInput | None = None
        self._planned_by_id: dict[str, PlannedTask] = {}
        self._ending: tuple[ApplicationStatus, str] | None = None
        self._supplements: dict[str, dict[str, JsonValue]] = {}
        self._decisions: dict[str, OperatorAction] = {}
        self._extra_payload: dict[str, dict[str, JsonValue]] = {}
        self._completion_order: list[str] = []
        self._notices: list[asyncio.Task[None]] = []
        self._indexed: tuple[str, list[str], bool] | None = None

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        if self._progress is None:
            raise ApplicationError("the application has not started yet")
        return self._progress

    @workflow.signal(name="withdraw")
    def withdraw(self, withdrawal: Withdrawal) -> None:
        self._end(ApplicationStatus.WITHDRAWN, f"withdrawn by the applicant: {withdrawal.reason}")

    @workflow.signal(name="supplement")
    def supplement(self, supplement: Supplement) -> None:
        state = self._task_progress(supplement.task_id)
        if state is not None and state.state is TaskState.AWAITING_SUPPLEMENT:
            self._supplements[supplement.task_id] = dict(supplement.fields)

    @workflow.signal(name="operator")
    def operator(self, action: OperatorAction) -> None:
        state = self._task_progress(action.task_id)
        if state is not None and state.state is TaskState.ESCALATED:
            self._decisions[action.task_id] = action

    @workflow.run
    async def run(self, inp: ApplicationInput) -> Progress:
        self._inp = inp
        self._planned_by_id = {t.task_id: t for t in inp.plan.tasks}
        progress = self._progress = Progress(
            id=inp.application_id,
            one_thing=inp.plan.one_thing,
            catalogue_version=inp.plan.catalogue_version,
            submitted_at=inp.submitted_at,
            skipped=inp.plan.skipped,
            tasks=[
                TaskProgress(
                    task_id=t.task_id,
                    matter=t.matter,
                    title=t.title,
                    department=t.department,
                    depends_on=t.depends_on,
                    time_limit_seconds=t.time_limit_seconds,
                )
                for t in inp.plan.tasks
            ],
        )
        announced = asyncio.ensure_future(self._publish_status())
        in_flight: dict[str, asyncio.Task[TaskAnswer]] = {}
        try:
            await self._advance(in_flight)
        except asyncio.CancelledError:
            self._end(ApplicationStatus.WITHDRAWN, "cancelled by an operator")
        await self._settle(in_flight)
        await self._despite_cancellation(announced)
        if self._ending is None:
            licences = self._licences_to_issue()
            if licences and workflow.patched(LICENCES):
                await self._despite_cancellation(
                    workflow.execute_activity(
                        ISSUE_LICENCES,
                        IssueLicences(application_id=inp.application_id, licences=licences),
                        start_to_close_timeout=timedelta(seconds=30),
                    )
                )
                progress.licences = [lic.id for lic in licences]
            if inp.plan.starts and workflow.patched(PROACTIVE):
                progress.started = await self._start_proactive()
            progress.status = ApplicationStatus.APPROVED  # once its e-licences are kept
        else:
            if self._completion_order and workflow.patched(COMPENSATION):
                await self._undo_completed()
            progress.status, progress.reason = self._ending
        progress.completed_at = workflow.now()
        progress.supplement_due_at = None
        if not self._index():
            workflow.upsert_search_attributes([APPLICATION_STATUS.value_set(progress.status.value)])
        await self._despite_cancellation(self._publish_status())
        return progress

    # -- the forward path -------------------------------------------------------------------

    async def _advance(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Dispatch ready tasks and record answers until all are done or the end is decided."""
        planned = self._planned()
        while self._ending is None:
            self._apply_decisions(in_flight)
            for task in self._ready(planned):
                in_flight[task.task_id] = self._dispatch(task)
            if not in_flight and not self._waiting():
                return
            try:
                await workflow.wait_condition(
                    lambda: (
                        self._ending is not None
                        or any(t.done() for t in in_flight.values())
                        or bool(self._supplements)
                        or bool(self._decisions)
                    ),
                    timeout=self._until_supplement_due(),
                )
            except TimeoutError:
                waiting = [t.title for t in self._tasks_in(TaskState.AWAITING_SUPPLEMENT)]
                self._end(
                    ApplicationStatus.REJECTED,
                    f"no supplement within the time limit for {', '.join(waiting)}",
                )
            self._record_finished(in_flight)

    def _ready(self, planned: dict[str, PlannedTask]) -> list[PlannedTask]:
        states = {t.task_id: t.state for t in self._tasks()}
        return [
            task
            for task_id, task in planned.items()
            if states[task_id] is TaskState.PENDING
            and all(states[d] is TaskState.APPROVED for d in task.depends_on)
        ]

    def _waiting(self) -> bool:
        """True while a task waits for the applicant or an operator."""
        return any(
            t.state in (TaskState.AWAITING_SUPPLEMENT, TaskState.ESCALATED) for t in self._tasks()
        )

    def _apply_decisions(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        planned = self._planned()
        for task_id, fields in self._supplements.items():
            self._extra_payload.setdefault(task_id, {}).update(fields)
            in_flight[task_id] = self._dispatch(planned[task_id])
        self._supplements.clear()
        for task_id, action in self._decisions.items():
            if action.decision is OperatorDecision.RETRY:
                in_flight[task_id] = self._dispatch(planned[task_id])
            else:
                state = self._task(task_id)
                state.completed_at = workflow.now()
                state.reason = f"failed by an operator: {action.reason}"
                state.enter(TaskState.FAILED, state.completed_at, state.reason)
                self._end(ApplicationStatus.REJECTED, f"{state.title}: {state.reason}")
        self._decisions.clear()
        self._refresh_status()

    def _dispatch(self, task: PlannedTask) -> asyncio.Task[TaskAnswer]:
        payload = {**task.payload, **self._extra_payload.get(task.task_id, {})}
        for key, ref in task.upstream.items():
            source, _, output = ref.partition(".")
            payload[key] = self._task(source).outputs[output]
        state = self._task(task.task_id)
        attempts_before = state.attempt
        state.attempt, state.dispatched_at = attempts_before + 1, workflow.now()
        state.reason, state.supplement_fields = None, []
        state.enter(TaskState.DISPATCHED, state.dispatched_at, fields=sorted(payload))
        state.deadline = state.dispatched_at + timedelta(seconds=task.time_limit_seconds)
        activity_id = task.task_id if attempts_before == 0 else f"{task.task_id}:{attempts_before}"
        return self._start(task, payload, Action.HANDLE, activity_id, attempts_before)

    def _start(
        self,
        task: PlannedTask,
        payload: dict[str, JsonValue],
        action: Action,
        activity_id: str,
        attempts_before: int,
    ) -> asyncio.Task[TaskAnswer]:
        assert self._inp is not None
        command = DispatchTask(
            application_id=self._inp.application_id,
            one_thing=self._inp.plan.one_thing,
            task=task,
            payload=payload,
            trace_id=workflow.info().run_id,
            action=action,
            attempts_before=attempts_before,
        )
        undoing = action is not Action.HANDLE
        return asyncio.ensure_future(
            workflow.execute_activity(
                DISPATCH_TASK,
                command,
                result_type=TaskAnswer,
                activity_id=activity_id,
                start_to_close_timeout=timedelta(seconds=task.time_limit_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(minutes=10),
                    # an undo is retried until its department confirms it
                    maximum_attempts=0 if undoing else self._inp.dispatch_attempts,
                ),
            )
        )

    def _record_finished(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        for task_id, running in list(in_flight.items()):
            if running.done():
                del in_flight[task_id]
                self._record(self._planned()[task_id], running)
        self._refresh_status()

    def _record(self, task: PlannedTask, finished: asyncio.Task[TaskAnswer]) -> None:
        state = self._task(task.task_id)
        state.completed_at = workflow.now()
        try:
            answer = finished.result()
        except ActivityError as err:
            state.reason = _why_failed(err)
            if err.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED:
                assert self._inp is not None
                state.attempt += self._inp.dispatch_attempts - 1
            if workflow.patched(ESCALATION):
                workflow.metric_meter().create_counter(
                    "onething_escalations", "Tasks escalated after their last time limit."
                ).add(1, {"department": task.department})
                state.enter(TaskState.ESCALATED, state.completed_at, state.reason)
                self._notices.append(asyncio.ensure_future(self._publish_task_state(state)))
            else:
                state.enter(TaskState.FAILED, state.completed_at, state.reason)
                self._end(ApplicationStatus.REJECTED, f"{task.title}: {state.reason}")
            return
        state.attempt = answer.attempt
        state.reason = answer.reason
        if state.dispatched_at is not None and answer.outcome is not Outcome.COMPENSATED:
            workflow.metric_meter().create_histogram_timedelta(
                "onething_task_duration", "From dispatch to the department's answer.", "ms"
            ).record(state.completed_at - state.dispatched_at, {"department": task.department})
        if answer.outcome is Outcome.APPROVED:
            state.enter(TaskState.APPROVED, state.completed_at)
            state.outputs = answer.outputs
            self._completion_order.append(task.task_id)
        elif answer.outcome is Outcome.SUPPLEMENT_REQUIRED:
            state.enter(TaskState.AWAITING_SUPPLEMENT, state.completed_at, answer.reason)
            state.supplement_fields = answer.supplement_fields
            if self._progress and self._progress.supplement_due_at is None:
                assert self._inp is not None
                self._progress.supplement_due_at = workflow.now() + timedelta(
                    seconds=self._inp.supplement_time_limit_seconds
                )
        else:
            state.enter(TaskState.REJECTED, state.completed_at, answer.reason)
            self._end(ApplicationStatus.REJECTED, f"{task.title}: {answer.reason}")

    # -- the way back -----------------------------------------------------------------------

    async def _settle(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Let tasks in flight finish (to be undone if need be); close what never ran."""
        if in_flight and workflow.patched(COMPENSATION):
            while in_flight:  # one by one, so the order of completion is known
                await self._despite_cancellation(
                    workflow.wait(list(in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
                )
                self._record_finished(in_flight)
        elif in_flight:
            for running in in_flight.values():
                running.cancel()
            await workflow.wait(list(in_flight.values()))
        if self._notices:
            await self._despite_cancellation(workflow.wait(self._notices))
        now = workflow.now()
        for state in self._tasks():
            if state.state in OPEN_STATES:
                state.completed_at = now
                state.reason = "cancelled: the application ended"
                state.enter(TaskState.CANCELLED, now, state.reason)

    async def _start_proactive(self) -> list[str]:
        """Start the one things this approval starts by itself, each once (the id says so)."""
        assert self._inp is not None
        started = []
        for start in self._inp.plan.starts:
            form = dict(start.values)
            for field, ref in start.outputs.items():
                task_id, _, output = ref.partition(".")
                form[field] = self._task(task_id).outputs[output]
            request = StartProactive(
                parent_id=self._inp.application_id,
                one_thing=start.one_thing,
                applicant=start.applicant,
                form=form,
                submitted_by=self._inp.submitted_by,
            )
            try:
                started.append(
                    await self._despite_cancellation(
                        workflow.execute_activity(
                            START_PROACTIVE,
                            request,
                            result_type=str,
                            start_to_close_timeout=timedelta(seconds=30),
                        )
                    )
                )
            except ActivityError as err:  # it cannot start: the approval stands, operators see why
                workflow.logger.warning("proactive start refused: %s", err.cause)
        return started

    def _licences_to_issue(self) -> list[LicenceToIssue]:
        """The e-licences of the approved tasks' document outputs, for their holders."""
        assert self._inp is not None
        licences = []
        for task in self._inp.plan.tasks:
            outputs = self._task(task.task_id).outputs
            if not task.licences or task.licence_holder is None:
                continue
            for kind in dict.fromkeys(task.licences.values()):
                licences.append(
                    LicenceToIssue(
                        id=licence_id(kind, self._inp.application_id, task.task_id),
                        type=kind,
                        issuer=task.department,
                        holder=task.licence_holder,
                        task_id=task.task_id,
                        data={**task.payload, **outputs},
                    )
                )
        return licences

    async def _undo_completed(self) -> None:
        """Undo completed tasks newest first, each confirmed before the next."""
        planned = self._planned()
        for task_id in reversed(self._completion_order):
            task = planned[task_id]
            action = Action.VOID if task.irreversible else Action.COMPENSATE
            state = self._task(task_id)
            state.enter(TaskState.COMPENSATING, workflow.now(), f"{action.value} sent")
            self._index()
            answer = await self._despite_cancellation(
                self._start(task, {}, action, f"{task_id}:{action.value}", 0)
            )
            state.compensated_at = workflow.now()
            state.enter(UNDO_STATES[action], state.compensated_at)
            if answer.department_reference:
                state.outputs = {
                    **state.outputs,
                    f"{action.value}_reference": answer.department_reference,
                }

    async def _despite_cancellation(self, awaitable: Awaitable[T]) -> T:
        """Await to the end even if the workflow is cancelled meanwhile."""
        future = asyncio.ensure_future(awaitable)
        while True:
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                if future.cancelled():
                    raise
                self._end(ApplicationStatus.WITHDRAWN, "cancelled by an operator")

    # -- bookkeeping ------------------------------------------------------------------------

    def _end(self, status: ApplicationStatus, reason: str) -> None:
        """Decide how the application ends; what is done is undone before it does."""
        if self._ending is None:
            self._ending = (status, reason)
            if self._progress is not None:
                self._progress.status = ApplicationStatus.COMPENSATING

    def _refresh_status(self) -> None:
        assert self._progress is not None
        if self._ending is None:
            awaiting = bool(self._tasks_in(TaskState.AWAITING_SUPPLEMENT))
            self._progress.status = (
                ApplicationStatus.AWAITING_SUPPLEMENT if awaiting else ApplicationStatus.RUNNING
            )
            if not awaiting:
                self._progress.supplement_due_at = None
        self._index()

    def _index(self) -> bool:
        """Keep the operators' search attributes in step; False on histories before them.

        Status, departments waited on, escalation: never a name or an ID number.
        """
        if not workflow.patched(SEARCH):
            return False
        assert self._progress is not None
        pending = sorted({t.department for t in self._tasks() if t.state in WAITED_ON})
        escalated = bool(self._tasks_in(TaskState.ESCALATED))
        indexed = (self._progress.status.value, pending, escalated)
        if indexed != self._indexed:
            self._indexed = indexed
            workflow.upsert_search_attributes(
                [
                    APPLICATION_STATUS.value_set(indexed[0]),
                    PENDING_DEPARTMENTS.value_set(pending),
                    ESCALATED.value_set(escalated),
                ]
            )
        return True

    def _until_supplement_due(self) -> timedelta | None:
        assert self._progress is not None
        due = self._progress.supplement_due_at
        if due is None or not self._tasks_in(TaskState.AWAITING_SUPPLEMENT):
            return None
        return max(due - workflow.now(), timedelta(0))

    def _planned(self) -> dict[str, PlannedTask]:
        return self._planned_by_id

    def _tasks(self) -> list[TaskProgress]:
        assert self._progress is not None
        return self._progress.tasks

    def _tasks_in(self, state: TaskState) -> list[TaskProgress]:
        return [t for t in self._tasks() if t.state is state]

    def _task(self, task_id: str) -> TaskProgress:
        assert self._progress is not None
        return self._progress.task(task_id)

    def _task_progress(self, task_id: str) -> TaskProgress | None:
        if self._progress is None:  # a signal before the run began
            return None
        return next((t for t in self._progress.tasks if t.task_id == task_id), None)

    async def _publish_status(self) -> None:
        assert self._progress is not None
        event = ApplicationStatusChanged(
            application_id=self._progress.id,
            one_thing=self._progress.one_thing,
            status=self._progress.status.value,
            reason=self._progress.reason,
            at=workflow.now(),
        )
        await workflow.execute_local_activity(
            PUBLISH_STATUS, event, start_to_close_timeout=timedelta(seconds=30)
        )

    async def _publish_task_state(self, state: TaskProgress) -> None:
        assert self._progress is not None
        event = TaskStateChanged(
            application_id=self._progress.id,
            task_id=state.task_id,
            department=state.department,
            state=state.state.value,
            attempt=max(state.attempt, 1),
            at=workflow.now(),
        )
        await workflow.execute_local_activity(
            PUBLISH_TASK_STATE, event, start_to_close_timeout=timedelta(seconds=30)
        )


def _why_failed(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ActivityTimeoutError):
        return "no answer from the department within its time limit"
    if isinstance(cause, ApplicationError):
        return f"the department could not handle it: {cause.message}"
    return "the task could not be dispatched"
