"""Talking to departments: each dispatch publishes a command and waits for its answer, each
in an activity of its own, so a lost publish is noticed in seconds while the department
keeps the matter's whole time limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue

    from events.contracts import Action, Outcome
    from one_things.plan import PlannedTask
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import (
        ApplicationStatus,
        Awaiting,
        PublishCommand,
        PublishCommands,
        TaskAnswer,
        TaskState,
    )
    from orchestrator.workflow.names import (
        AWAIT_ANSWER,
        BATCHED_DISPATCH,
        PUBLISH_COMMAND,
        PUBLISH_COMMANDS,
    )

from orchestrator.workflow.redelivery import Redelivery

T = TypeVar("T")
BACKOFF_CEILING = 60.0  # seconds between two tries after a `failed` answer


def _retrieve(done: asyncio.Future[None]) -> None:
    """Take a cancelled publish's outcome, so asyncio does not report it as lost."""
    if not done.cancelled():
        done.exception()


class Exchange(Redelivery):
    """Dispatches a task until it is answered, and sends undos until one is answered."""

    async def _handle(self, task: PlannedTask) -> TaskAnswer:
        """Dispatch until the department answers, at most `dispatch_attempts` times."""
        assert self._inp is not None
        titles = {t.task_id: t.title for t in self._tasks()}
        supplied = self._extra_payload.get(task.task_id, {})
        payload = self._sent[task.task_id] = steps.payload(task, supplied, self._outputs(), titles)
        state = self._task(task.task_id)
        why_again: str | None = None
        due: datetime | None = None
        for dispatch in range(1, self._inp.dispatch_attempts + 1):
            state.attempt += 1
            state.dispatched_at = workflow.now()
            due = due or steps.promised(task, self._inp.plan, state.dispatched_at)
            time_limit = steps.time_limit(task, self._inp.plan, state.dispatched_at, due)
            state.reason, state.supplement_fields = None, []
            state.enter(TaskState.DISPATCHED, state.dispatched_at, why_again, sorted(payload))
            state.deadline = state.dispatched_at + time_limit
            try:
                return await self._exchange(task, payload, Action.HANDLE, state.attempt, time_limit)
            except ActivityError as err:
                if dispatch == self._inp.dispatch_attempts or (due and workflow.now() >= due):
                    raise
                why_again = f"again: {steps.why_failed(err)}"
                self._count(
                    "onething_redispatches",
                    "Dispatches after a time limit ran out or a failure.",
                    task.department,
                )
                if not isinstance(err.cause, ActivityTimeoutError):  # it answered `failed`
                    await workflow.sleep(min(2.0**dispatch, BACKOFF_CEILING))
        raise AssertionError("unreachable")

    async def _undo_once(
        self, task: PlannedTask, action: Action, record: dict[str, JsonValue]
    ) -> TaskAnswer:
        """Send the undo up to `undo_attempts` times, backing off; raise the last failure."""
        assert self._inp is not None
        for n in range(1, self._inp.undo_attempts + 1):
            tries = self._undo_tries[task.task_id] = self._undo_tries.get(task.task_id, 0) + 1
            time_limit = steps.time_limit(task, self._inp.plan, workflow.now())
            try:
                return await self._exchange(task, record, action, tries, time_limit)
            except ActivityError:
                if n == self._inp.undo_attempts:
                    raise
                await workflow.sleep(min(2.0**n, BACKOFF_CEILING))
        raise AssertionError("unreachable")

    async def _exchange(
        self,
        task: PlannedTask,
        payload: dict[str, JsonValue],
        action: Action,
        attempt: int,
        time_limit: timedelta,
    ) -> TaskAnswer:
        """Publish one command and wait `time_limit` for its answer, each in an activity."""
        assert self._inp is not None
        info = workflow.info()
        activity_id = f"{task.task_id}:{action.value}:{attempt}"
        answer: workflow.ActivityHandle[TaskAnswer] = workflow.start_activity(
            AWAIT_ANSWER,
            Awaiting(
                task_id=task.task_id,
                department=task.department,
                action=action,
                attempt=attempt,
                fields=sorted(payload),
            ),
            result_type=TaskAnswer,
            activity_id=activity_id,
            schedule_to_close_timeout=time_limit,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        announced = self._announced.get(task.task_id, 0)
        command = PublishCommand(
            application_id=self._inp.application_id,
            one_thing=self._inp.plan.one_thing,
            task=task,
            payload=payload,
            trace_id=info.run_id,
            action=action,
            attempt=attempt,
            deadline=workflow.now() + time_limit,
            awaiting=activity_id,
            materials=self._materials_for(task) if action is Action.HANDLE else [],
            announce=self._take_task_events(self._task(task.task_id)),
        )
        batched = self._since(BATCHED_DISPATCH)
        if batched:
            published = asyncio.ensure_future(self._publish_with_others(command))
        else:
            published = asyncio.ensure_future(self._publish(PUBLISH_COMMAND, command, time_limit))
        self._expect_answer(activity_id, command, published)
        try:
            return await answer
        finally:
            self._unanswered.pop(activity_id, None)
            if not published.done():  # answered before its publish was recorded
                published.cancel()
                published.add_done_callback(_retrieve)
                if not batched:
                    self._announced[task.task_id] = announced  # the outbox sends its changes

    async def _publish_with_others(self, command: PublishCommand) -> None:
        """Publish the command in one activity with the others this workflow task dispatches
        (an approved registration lets an enterprise opening dispatch five at once: one
        marker in its history, not five).
        A dispatch answered before its batch is out stops waiting; the batch goes on for the
        others, and carries this one's state changes as it would have."""
        self._outgoing.append(command)
        if self._batch is None:
            self._batch = asyncio.ensure_future(self._publish_batch())
        await asyncio.shield(self._batch)

    async def _publish_batch(self) -> None:
        await asyncio.sleep(0)  # the other dispatches of this workflow task join first
        commands, self._outgoing, self._batch = self._outgoing, [], None
        lifetime = max(c.deadline for c in commands) - workflow.now()
        assert self._inp is not None
        with_all = self._inp.revision >= 1 and self._unannounced()  # the outbox has nothing left
        announced = dict(self._announced)
        announce = self._take_announcements() if with_all else None
        try:
            await self._publish(
                PUBLISH_COMMANDS, PublishCommands(commands=commands, announce=announce), lifetime
            )
        except ActivityError:
            if announce is not None:  # never published: the outbox sends them on its own
                self._statuses[:0] = announce.statuses
                for task_id in {e.task_id for e in announce.tasks}:
                    self._announced[task_id] = min(
                        self._announced[task_id], announced.get(task_id, 0)
                    )
            raise

    def _record_finished(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        for task_id, running in list(in_flight.items()):
            if running.done():
                del in_flight[task_id]
                self._record(self._planned_by_id[task_id], running)
        self._refresh_status()

    def _record(self, task: PlannedTask, finished: asyncio.Task[TaskAnswer]) -> None:
        """Note a task's answer; a rejection decides the end, a silence escalates it."""
        state = self._task(task.task_id)
        state.completed_at = workflow.now()
        try:
            answer = finished.result()
        except ActivityError as err:
            state.reason = steps.why_failed(err)
            self._count(
                "onething_escalations", "Tasks escalated after their last attempt.", task.department
            )
            state.enter(TaskState.ESCALATED, state.completed_at, state.reason)
            return
        except steps.MissingUpstream as err:  # a department's answer lacked what the plan needs
            state.reason = str(err)
            state.enter(TaskState.FAILED, state.completed_at, state.reason)
            self._refuse(task, f"{task.title}: {state.reason}")
            return
        state.reason = answer.reason
        if state.dispatched_at is not None:
            workflow.metric_meter().create_histogram_timedelta(
                "onething_task_duration", "From dispatch to the department's answer.", "ms"
            ).record(state.completed_at - state.dispatched_at, {"department": task.department})
        if answer.outcome is Outcome.APPROVED:
            state.enter(TaskState.APPROVED, state.completed_at)
            state.outputs = answer.outputs
            state.department_reference = answer.department_reference
            self._completion_order.append(task.task_id)
        elif answer.outcome is Outcome.SUPPLEMENT_REQUIRED:
            state.enter(TaskState.AWAITING_SUPPLEMENT, state.completed_at, answer.reason)
            state.supplement_fields = answer.supplement_fields
            assert self._inp is not None and self._progress is not None
            if self._progress.supplement_due_at is None:
                self._progress.supplement_due_at = workflow.now() + timedelta(
                    seconds=self._inp.supplement_time_limit_seconds
                )
        else:
            state.enter(TaskState.REJECTED, state.completed_at, answer.reason)
            self._refuse(task, f"{task.title}: {answer.reason}")

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
