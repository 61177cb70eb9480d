"""OneThingWorkflow: one per application; walks the plan DAG, dispatching ready tasks at once.

Deterministic: no I/O, no clocks, no randomness; all of that lives in activities.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from events.contracts import ApplicationStatusChanged, Outcome
    from one_things.plan import PlannedTask
    from orchestrator.models import (
        ApplicationInput,
        ApplicationStatus,
        DispatchTask,
        Progress,
        TaskAnswer,
        TaskProgress,
        TaskState,
    )

ONE_THING = SearchAttributeKey.for_keyword("OneThing")
APPLICATION_STATUS = SearchAttributeKey.for_keyword("ApplicationStatus")
DISPATCH_TASK = "dispatch_task"
PUBLISH_STATUS = "publish_status"


@workflow.defn(name="OneThingWorkflow")
class OneThingWorkflow:
    """Runs one composite application from its plan snapshot to approved or rejected."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        if self._progress is None:
            raise ApplicationError("the application has not started yet")
        return self._progress

    @workflow.run
    async def run(self, inp: ApplicationInput) -> Progress:
        plan = inp.plan
        progress = self._progress = Progress(
            id=inp.application_id,
            one_thing=plan.one_thing,
            catalogue_version=plan.catalogue_version,
            submitted_at=inp.submitted_at,
            skipped=plan.skipped,
            tasks=[
                TaskProgress(
                    task_id=t.task_id,
                    matter=t.matter,
                    title=t.title,
                    department=t.department,
                    depends_on=t.depends_on,
                )
                for t in plan.tasks
            ],
        )
        announced = asyncio.ensure_future(self._publish_status())
        planned = {t.task_id: t for t in plan.tasks}
        in_flight: dict[str, asyncio.Task[TaskAnswer]] = {}
        while progress.status is ApplicationStatus.RUNNING:
            for task in self._ready(planned):
                in_flight[task.task_id] = self._dispatch(inp, task)
            if not in_flight:
                break
            await workflow.wait(in_flight.values(), return_when=asyncio.FIRST_COMPLETED)
            for task_id, running in list(in_flight.items()):
                if running.done():
                    del in_flight[task_id]
                    self._record(planned[task_id], running)
        await self._stop(in_flight)
        await announced
        if progress.status is ApplicationStatus.RUNNING:
            progress.status = ApplicationStatus.APPROVED
        progress.completed_at = workflow.now()
        workflow.upsert_search_attributes([APPLICATION_STATUS.value_set(progress.status.value)])
        await self._publish_status()
        return progress

    def _ready(self, planned: dict[str, PlannedTask]) -> list[PlannedTask]:
        assert self._progress is not None
        states = {t.task_id: t.state for t in self._progress.tasks}
        return [
            task
            for task_id, task in planned.items()
            if states[task_id] is TaskState.PENDING
            and all(states[d] is TaskState.APPROVED for d in task.depends_on)
        ]

    def _dispatch(self, inp: ApplicationInput, task: PlannedTask) -> asyncio.Task[TaskAnswer]:
        assert self._progress is not None
        payload = dict(task.payload)
        for key, ref in task.upstream.items():
            source, _, output = ref.partition(".")
            payload[key] = self._progress.task(source).outputs[output]
        state = self._progress.task(task.task_id)
        state.state, state.attempt, state.dispatched_at = TaskState.DISPATCHED, 1, workflow.now()
        command = DispatchTask(
            application_id=inp.application_id,
            one_thing=inp.plan.one_thing,
            task=task,
            payload=payload,
            trace_id=workflow.info().run_id,
        )
        return asyncio.ensure_future(
            workflow.execute_activity(
                DISPATCH_TASK,
                command,
                result_type=TaskAnswer,
                activity_id=task.task_id,
                start_to_close_timeout=timedelta(seconds=task.time_limit_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_attempts=inp.dispatch_attempts,
                ),
            )
        )

    def _record(self, task: PlannedTask, finished: asyncio.Task[TaskAnswer]) -> None:
        assert self._progress is not None
        state = self._progress.task(task.task_id)
        state.completed_at = workflow.now()
        try:
            answer = finished.result()
        except ActivityError as err:
            state.state = TaskState.FAILED
            state.reason = _why_failed(err)
            self._reject(f"{task.title}: {state.reason}")
            return
        state.attempt = answer.attempt
        state.reason = answer.reason
        if answer.outcome is Outcome.APPROVED:
            state.state = TaskState.APPROVED
            state.outputs = answer.outputs
        elif answer.outcome is Outcome.SUPPLEMENT_REQUIRED:
            state.state = TaskState.REJECTED
            fields = ", ".join(answer.supplement_fields) or "more material"
            self._reject(f"{task.title}: the department asks for {fields}: {answer.reason}")
        else:
            state.state = TaskState.REJECTED
            self._reject(f"{task.title}: {answer.reason}")

    def _reject(self, reason: str) -> None:
        assert self._progress is not None
        if self._progress.status is ApplicationStatus.RUNNING:
            self._progress.status = ApplicationStatus.REJECTED
            self._progress.reason = reason

    async def _stop(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Cancel what is still running or waiting; the application is over."""
        assert self._progress is not None
        for running in in_flight.values():
            running.cancel()
        if in_flight:
            await workflow.wait(in_flight.values())
        now = workflow.now()
        for state in self._progress.tasks:
            if state.state in (TaskState.PENDING, TaskState.DISPATCHED):
                state.state, state.completed_at = TaskState.CANCELLED, now
                state.reason = "cancelled: the application ended"

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


def _why_failed(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, TimeoutError):
        return "no answer from the department within its time limit"
    if isinstance(cause, ApplicationError):
        return f"the department could not handle it: {cause.message}"
    return "the task could not be dispatched"
