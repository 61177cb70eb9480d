"""OneThingWorkflow: one per application; walks the plan DAG, dispatching ready tasks at once.

When the application cannot finish (a task is rejected for good, the applicant withdraws, a
supplement does not come in time, an operator fails an escalated task, or the workflow is
cancelled through Temporal) every completed task is undone, newest first, each confirmed by
its department (or settled by an operator) before the next, and nothing cancels that.

Each dispatch is two activities: `await_answer`, which the results bridge completes with the
department's answer (its time limit is the matter's), and `publish_command`, which publishes
the command in seconds and is retried on its own if a worker dies around the publish.

Deterministic: no I/O, no clocks, no randomness; all of that lives in activities. Status
events go out through ordinary activities, never local ones (a local activity that keeps
failing leaves backoff timers and markers that a restarted worker could not replay).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue

    from events.contracts import Action, ApplicationStatusChanged, Outcome, TaskStateChanged
    from one_things.licences import licence_id
    from one_things.plan import PlannedTask
    from orchestrator import reply
    from orchestrator.models import (
        ESCALATED_DECISIONS,
        ApplicationInput,
        ApplicationStatus,
        IssueLicences,
        LicenceToIssue,
        OperatorAction,
        OperatorDecision,
        Progress,
        PublishCommand,
        StartProactive,
        Supplement,
        TaskAnswer,
        TaskProgress,
        TaskState,
        Withdrawal,
    )
    from orchestrator.names import (
        APPLICATION_STATUS,
        AWAIT_ANSWER,
        ESCALATED,
        ISSUE_LICENCES,
        OPERATOR,
        PENDING_DEPARTMENTS,
        PROGRESS,
        PUBLISH_COMMAND,
        PUBLISH_STATUS,
        PUBLISH_TASK_STATE,
        START_PROACTIVE,
        SUPPLEMENT,
        WITHDRAW,
        WORKFLOW,
    )

T = TypeVar("T")
UNDO_STATES = {Action.COMPENSATE: TaskState.COMPENSATED, Action.VOID: TaskState.VOIDED}
UNDO_REFUSALS = {Outcome.REJECTED, Outcome.SUPPLEMENT_REQUIRED}
WAITED_ON = {
    TaskState.DISPATCHED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
    TaskState.COMPENSATING,
    TaskState.UNDO_ESCALATED,
}
OPEN_STATES = {
    TaskState.PENDING,
    TaskState.DISPATCHED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
}
PUBLISH_TIMEOUT = timedelta(seconds=10)  # one try at publishing a command
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=PUBLISH_TIMEOUT)
STATUS_EVENT_LIFETIME = timedelta(hours=1)  # a status event not out by then is given up
REDISPATCH_BACKOFF_CEILING = 60.0  # seconds between dispatches after a `failed` answer


class Conflict(ApplicationError):
    """An update the application cannot take in its state (the API answers 409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="Conflict", non_retryable=True)


@workflow.defn(name=WORKFLOW)
class OneThingWorkflow:
    """Runs one composite application from its plan snapshot to its end."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._inp: ApplicationInput | None = None
        self._planned_by_id: dict[str, PlannedTask] = {}
        self._ending: tuple[ApplicationStatus, str] | None = None
        self._approving = False
        self._supplements: dict[str, dict[str, JsonValue]] = {}
        self._decisions: dict[str, OperatorAction] = {}
        self._extra_payload: dict[str, dict[str, JsonValue]] = {}
        self._sent: dict[str, dict[str, JsonValue]] = {}
        self._completion_order: list[str] = []
        self._not_undone: list[str] = []
        self._undo_tries: dict[str, int] = {}
        self._notices: list[asyncio.Task[None]] = []
        self._indexed: tuple[str, list[str], bool] | None = None

    # -- what people send -------------------------------------------------------------------

    @workflow.query(name=PROGRESS)
    def progress(self) -> Progress:
        if self._progress is None:
            raise ApplicationError("the application has not started yet")
        return self._progress

    @workflow.update(name=WITHDRAW)
    def withdraw(self, withdrawal: Withdrawal) -> str:
        self._end(ApplicationStatus.WITHDRAWN, f"withdrawn by the applicant: {withdrawal.reason}")
        return ApplicationStatus.COMPENSATING.value

    @withdraw.validator
    def _may_withdraw(self, withdrawal: Withdrawal) -> None:
        if self._ending is not None:
            raise Conflict(f"the application is already ending: {self._ending[0].value}")
        if self._approving:
            raise Conflict("the application has already been approved")

    @workflow.update(name=SUPPLEMENT)
    def supplement(self, supplement: Supplement) -> str:
        self._supplements[supplement.task_id] = dict(supplement.fields)
        return TaskState.DISPATCHED.value

    @supplement.validator
    def _may_supplement(self, supplement: Supplement) -> None:
        self._refuse_when_closed()
        task = self._known_task(supplement.task_id)
        if task.state is not TaskState.AWAITING_SUPPLEMENT or task.task_id in self._supplements:
            raise Conflict(f"task {task.task_id!r} is {task.state.value}")

    @workflow.update(name=OPERATOR)
    def operator(self, action: OperatorAction) -> str:
        self._decisions[action.task_id] = action
        return action.decision.value

    @operator.validator
    def _may_decide(self, action: OperatorAction) -> None:
        task = self._known_task(action.task_id)
        allowed = ESCALATED_DECISIONS.get(task.state, ())
        if action.decision not in allowed or task.task_id in self._decisions:
            raise Conflict(
                f"task {task.task_id!r} is {task.state.value}: {action.decision.value} is not open"
            )

    # -- the saga ---------------------------------------------------------------------------

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
        self._publish_status()
        in_flight: dict[str, asyncio.Task[TaskAnswer]] = {}
        try:
            await self._advance(in_flight)
        except asyncio.CancelledError:
            self._end(ApplicationStatus.WITHDRAWN, "cancelled by an operator")
        self._approving = self._ending is None
        await self._settle(in_flight)
        if self._ending is None:
            await self._approve()
        else:
            for task_id in reversed(self._completion_order):
                await self._despite_cancellation(self._undo(task_id))
            progress.status, progress.reason = self._ending
            if self._not_undone:
                progress.reason += "; not undone: " + "; ".join(self._not_undone)
        progress.completed_at = workflow.now()
        progress.supplement_due_at = None
        self._index()
        self._publish_status()
        await self._despite_cancellation(workflow.wait(self._notices))
        return progress

    async def _approve(self) -> None:
        """Keep the e-licences, start what this approval starts, then say it is approved."""
        assert self._inp is not None and self._progress is not None
        licences = self._licences_to_issue()
        if licences:
            await self._despite_cancellation(
                workflow.execute_activity(
                    ISSUE_LICENCES,
                    IssueLicences(application_id=self._inp.application_id, licences=licences),
                    start_to_close_timeout=timedelta(seconds=30),
                )
            )
            self._progress.licences = [lic.id for lic in licences]
        if self._inp.plan.starts:
            self._progress.started = await self._start_proactive()
        self._progress.status = ApplicationStatus.APPROVED

    # -- the forward path -------------------------------------------------------------------

    async def _advance(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Dispatch ready tasks and record answers until all are done or the end is decided."""
        while self._ending is None:
            self._apply_decisions(in_flight)
            for task in self._ready():
                in_flight[task.task_id] = asyncio.ensure_future(self._handle(task))
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

    def _ready(self) -> list[PlannedTask]:
        states = {t.task_id: t.state for t in self._tasks()}
        return [
            task
            for task_id, task in self._planned_by_id.items()
            if states[task_id] is TaskState.PENDING
            and all(states[d] is TaskState.APPROVED for d in task.depends_on)
        ]

    def _waiting(self) -> bool:
        """True while a task waits for the applicant or an operator."""
        return any(
            t.state in (TaskState.AWAITING_SUPPLEMENT, TaskState.ESCALATED) for t in self._tasks()
        )

    def _apply_decisions(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        for task_id, fields in self._supplements.items():
            self._extra_payload.setdefault(task_id, {}).update(fields)
            in_flight[task_id] = asyncio.ensure_future(self._handle(self._planned_by_id[task_id]))
        self._supplements.clear()
        for task_id, action in list(self._decisions.items()):
            state = self._task(task_id)
            if state.state is not TaskState.ESCALATED:
                continue  # a decision about an undo: the way back takes it
            del self._decisions[task_id]
            if action.decision is OperatorDecision.RETRY:
                in_flight[task_id] = asyncio.ensure_future(
                    self._handle(self._planned_by_id[task_id])
                )
            else:
                state.completed_at = workflow.now()
                state.reason = f"failed by an operator: {action.reason}"
                state.enter(TaskState.FAILED, state.completed_at, state.reason)
                self._end(ApplicationStatus.REJECTED, f"{state.title}: {state.reason}")
        self._refresh_status()

    def _payload(self, task: PlannedTask) -> dict[str, JsonValue]:
        """The plan's minimised payload, supplements, and the upstream outputs it needs."""
        payload = {**task.payload, **self._extra_payload.get(task.task_id, {})}
        for key, ref in task.upstream.items():
            source, _, output = ref.partition(".")
            value = self._task(source).outputs.get(output)
            if value is None:
                raise ApplicationError(
                    f"{self._task(source).title} gave no {output}", type="MissingUpstream"
                )
            payload[key] = value
        return payload

    async def _handle(self, task: PlannedTask) -> TaskAnswer:
        """Dispatch until the department answers, at most `dispatch_attempts` times."""
        assert self._inp is not None
        payload = self._sent[task.task_id] = self._payload(task)
        state = self._task(task.task_id)
        why_again: str | None = None
        for dispatch in range(1, self._inp.dispatch_attempts + 1):
            state.attempt += 1
            state.dispatched_at = workflow.now()
            state.reason, state.supplement_fields = None, []
            state.enter(TaskState.DISPATCHED, state.dispatched_at, why_again, sorted(payload))
            state.deadline = state.dispatched_at + timedelta(seconds=task.time_limit_seconds)
            try:
                return await self._exchange(task, payload, Action.HANDLE, state.attempt)
            except ActivityError as err:
                if dispatch == self._inp.dispatch_attempts:
                    raise
                why_again = f"again: {_why_failed(err)}"
                workflow.metric_meter().create_counter(
                    "onething_redispatches", "Dispatches after a time limit ran out or a failure."
                ).add(1, {"department": task.department})
                if not isinstance(err.cause, ActivityTimeoutError):  # it answered `failed`
                    await workflow.sleep(min(2.0**dispatch, REDISPATCH_BACKOFF_CEILING))
        raise AssertionError("unreachable")

    async def _exchange(
        self, task: PlannedTask, payload: dict[str, JsonValue], action: Action, attempt: int
    ) -> TaskAnswer:
        """Publish one command and wait for its answer, each in an activity of its own."""
        assert self._inp is not None
        info = workflow.info()
        activity_id = f"{task.task_id}:{action.value}:{attempt}"
        time_limit = timedelta(seconds=task.time_limit_seconds)
        answer: workflow.ActivityHandle[TaskAnswer] = workflow.start_activity(
            AWAIT_ANSWER,
            result_type=TaskAnswer,
            activity_id=activity_id,
            schedule_to_close_timeout=time_limit,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        command = PublishCommand(
            application_id=self._inp.application_id,
            one_thing=self._inp.plan.one_thing,
            task=task,
            payload=payload,
            trace_id=info.run_id,
            action=action,
            attempt=attempt,
            deadline=workflow.now() + time_limit,
            reply_token=reply.encode(reply.Waiting(info.workflow_id, info.run_id, activity_id)),
        )
        published = workflow.start_activity(
            PUBLISH_COMMAND,
            command,
            activity_id=f"{activity_id}:publish",
            start_to_close_timeout=PUBLISH_TIMEOUT,
            schedule_to_close_timeout=time_limit,
            retry_policy=PUBLISH_RETRY,
        )
        try:
            return await answer
        finally:
            if not published.done():
                published.cancel()

    def _record_finished(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        for task_id, running in list(in_flight.items()):
            if running.done():
                del in_flight[task_id]
                self._record(self._planned_by_id[task_id], running)
        self._refresh_status()

    def _record(self, task: PlannedTask, finished: asyncio.Task[TaskAnswer]) -> None:
        state = self._task(task.task_id)
        state.completed_at = workflow.now()
        try:
            answer = finished.result()
        except ActivityError as err:
            state.reason = _why_failed(err)
            workflow.metric_meter().create_counter(
                "onething_escalations", "Tasks escalated after their last time limit."
            ).add(1, {"department": task.department})
            state.enter(TaskState.ESCALATED, state.completed_at, state.reason)
            self._notify(state)
            return
        except ApplicationError as err:  # the plan cannot be followed (an output is missing)
            state.reason = err.message
            state.enter(TaskState.FAILED, state.completed_at, state.reason)
            self._end(ApplicationStatus.REJECTED, f"{task.title}: {state.reason}")
            return
        state.reason = answer.reason
        if state.dispatched_at is not None:
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

    async def _undo(self, task_id: str) -> None:
        """Undo one completed task: confirmed, refused for a reason, or decided by an operator."""
        assert self._inp is not None
        task = self._planned_by_id[task_id]
        action = Action.VOID if task.irreversible else Action.COMPENSATE
        state = self._task(task_id)
        # the record to undo, named by what the department received and issued for it
        record: dict[str, JsonValue] = {**self._sent.get(task_id, {}), **state.outputs}
        state.enter(TaskState.COMPENSATING, workflow.now(), f"{action.value} sent", sorted(record))
        self._index()
        while True:
            try:
                answer = await self._undo_once(task, action, record)
            except ActivityError as err:
                detail = f"{action.value} not confirmed: {_why_failed(err)}"
                state.enter(TaskState.UNDO_ESCALATED, workflow.now(), detail)
                self._notify(state)
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
                self._notify(state)
                return
            state.compensated_at = workflow.now()
            state.enter(UNDO_STATES[action], state.compensated_at)
            if answer.department_reference:
                state.outputs = {
                    **state.outputs,
                    f"{action.value}_reference": answer.department_reference,
                }
            return

    async def _undo_once(
        self, task: PlannedTask, action: Action, record: dict[str, JsonValue]
    ) -> TaskAnswer:
        """Send the undo up to `undo_attempts` times, backing off; raise the last failure."""
        assert self._inp is not None
        for n in range(1, self._inp.undo_attempts + 1):
            tries = self._undo_tries[task.task_id] = self._undo_tries.get(task.task_id, 0) + 1
            try:
                return await self._exchange(task, record, action, tries)
            except ActivityError:
                if n == self._inp.undo_attempts:
                    raise
                await workflow.sleep(min(2.0**n, REDISPATCH_BACKOFF_CEILING))
        raise AssertionError("unreachable")

    async def _start_proactive(self) -> list[str]:
        """Start the one things this approval starts by itself, each once (the id says so)."""
        assert self._inp is not None
        started = []
        for start in self._inp.plan.starts:
            form = dict(start.values)
            for field, ref in start.outputs.items():
                task_id, _, output = ref.partition(".")
                form[field] = self._task(task_id).outputs.get(output)
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

    def _refuse_when_closed(self) -> None:
        if self._ending is not None or self._approving:
            raise Conflict("the application has already been decided")

    def _known_task(self, task_id: str) -> TaskProgress:
        if self._progress is None:
            raise Conflict("the application has not started yet")
        task = next((t for t in self._progress.tasks if t.task_id == task_id), None)
        if task is None:
            raise Conflict(f"no task {task_id!r} in this application")
        return task

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

    def _index(self) -> None:
        """Keep the operators' search attributes in step: status, departments, escalation."""
        assert self._progress is not None
        pending = sorted({t.department for t in self._tasks() if t.state in WAITED_ON})
        escalated = any(t.state in ESCALATED_DECISIONS for t in self._tasks())
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

    def _until_supplement_due(self) -> timedelta | None:
        assert self._progress is not None
        due = self._progress.supplement_due_at
        if due is None or not self._tasks_in(TaskState.AWAITING_SUPPLEMENT):
            return None
        return max(due - workflow.now(), timedelta(0))

    def _tasks(self) -> list[TaskProgress]:
        assert self._progress is not None
        return self._progress.tasks

    def _tasks_in(self, state: TaskState) -> list[TaskProgress]:
        return [t for t in self._tasks() if t.state is state]

    def _task(self, task_id: str) -> TaskProgress:
        assert self._progress is not None
        return self._progress.task(task_id)

    def _publish_status(self) -> None:
        assert self._progress is not None
        event = ApplicationStatusChanged(
            application_id=self._progress.id,
            one_thing=self._progress.one_thing,
            status=self._progress.status.value,
            reason=self._progress.reason,
            at=workflow.now(),
        )
        self._notices.append(asyncio.ensure_future(self._publish(PUBLISH_STATUS, event)))

    def _notify(self, state: TaskProgress) -> None:
        """Tell operators on onething.status that a task needs them or could not be undone."""
        assert self._progress is not None
        event = TaskStateChanged(
            application_id=self._progress.id,
            task_id=state.task_id,
            department=state.department,
            state=state.state.value,
            attempt=max(state.attempt, 1),
            at=workflow.now(),
        )
        self._notices.append(asyncio.ensure_future(self._publish(PUBLISH_TASK_STATE, event)))

    async def _publish(self, name: str, event: ApplicationStatusChanged | TaskStateChanged) -> None:
        try:
            await workflow.execute_activity(
                name,
                event,
                start_to_close_timeout=PUBLISH_TIMEOUT,
                schedule_to_close_timeout=STATUS_EVENT_LIFETIME,
                retry_policy=PUBLISH_RETRY,
            )
        except ActivityError as err:  # the broker was away for an hour: the record stands
            workflow.logger.warning("status event not published: %s", err.cause)


def _why_failed(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ActivityTimeoutError):
        return "no answer from the department within its time limit"
    if isinstance(cause, ApplicationError):
        return f"the department could not handle it: {cause.message}"
    return "the task could not be dispatched"
