"""What every part of the saga shares: the application's record, and the platform concerns
around it (search attributes for operators, status events, metrics)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from pydantic import JsonValue

    from events.contracts import ApplicationStatusChanged, TaskStateChanged
    from one_things.plan import ExecutionPlan, PlannedTask
    from one_things.schema import OnFailure
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import (
        ESCALATED_DECISIONS,
        Announcements,
        ApplicationInput,
        ApplicationStatus,
        OperatorAction,
        Progress,
        PublishCommand,
        TaskProgress,
        TaskState,
    )
    from orchestrator.workflow.names import (
        APPLICATION_STATUS,
        ESCALATED,
        ONE_THING,
        OPERATOR,
        PENDING_DEPARTMENTS,
        PROGRESS,
        PUBLISH_EVENTS,
        STATUS_EVENTS,
    )

WAITED_ON = {
    TaskState.DISPATCHED,
    TaskState.ACCEPTED,
    TaskState.AWAITING_SUPPLEMENT,
    TaskState.ESCALATED,
    TaskState.COMPENSATING,
    TaskState.UNDO_ESCALATED,
}
PUBLISH_TIMEOUT = timedelta(seconds=10)  # one try at publishing a command or an event
PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=PUBLISH_TIMEOUT)
STATUS_EVENT_LIFETIME = timedelta(hours=1)  # a status event not out by then is given up
WITHIN_TASK_TIMEOUT = timedelta(seconds=5)  # far below the SDK's local retry threshold (60 s)
WITHIN_TASK_RETRY = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(seconds=1))
Indexed = tuple[str, list[str], bool]  # status, departments waited on, escalated


def start_index(plan: ExecutionPlan) -> list[SearchAttributePair[Any]]:
    """The search attributes to start a run with: what its first workflow task would upsert
    (the departments of the tasks it dispatches at once), so that task upserts nothing."""
    first = steps.ready(plan, {t.task_id: TaskState.PENDING for t in plan.tasks})
    return [
        SearchAttributePair(ONE_THING, plan.one_thing),
        SearchAttributePair(APPLICATION_STATUS, ApplicationStatus.RUNNING.value),
        SearchAttributePair(PENDING_DEPARTMENTS, sorted({t.department for t in first})),
        SearchAttributePair(ESCALATED, False),
    ]


class Conflict(ApplicationError):
    """An update the application cannot take in its state (the API answers 409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="Conflict", non_retryable=True)


class Platform:
    """The application's record and the signs of it that operators and notifiers see."""

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
        self._statuses: list[ApplicationStatusChanged] = []
        self._announced: dict[str, int] = {}
        self._closing = False
        self._indexed: Indexed | None = None
        self._refused: list[str] = []  # refusals the application goes on without
        self._outgoing: list[PublishCommand] = []
        self._batch: asyncio.Future[None] | None = None
        self._revoking: dict[str, str] = {}  # refused for a lapsed promise, once settled
        self._reminded: set[str] = set()
        self._material_news = False  # a promise kept, or a commitment found untrue
        self._shown_status = ApplicationStatus.RUNNING.value  # the status last announced

    # -- what operators and the bridge ask ---------------------------------------------------

    @workflow.query(name=PROGRESS)
    def progress(self) -> Progress:
        if self._progress is None:
            raise ApplicationError("the application has not started yet")
        return self._progress

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

    # -- the record --------------------------------------------------------------------------

    def _end(self, status: ApplicationStatus, reason: str) -> None:
        """Decide how the application ends; what is done is undone before it does."""
        if self._ending is None:
            self._ending = (status, reason)
            if self._progress is not None:
                self._progress.status = ApplicationStatus.COMPENSATING
                self._announce_status()

    def _refuse(self, task: PlannedTask, reason: str) -> None:
        """A task refused for good: the application ends, or goes on without it and what
        depends on it."""
        if task.on_failure is OnFailure.CONTINUE:
            self._refused.append(reason)
        else:
            self._end(ApplicationStatus.REJECTED, reason)

    def _cancel_blocked(self) -> None:
        """Cancel the pending tasks that wait on one refused, failed or cancelled."""
        assert self._inp is not None
        ended = (
            TaskState.REJECTED,
            TaskState.FAILED,
            TaskState.CANCELLED,
            TaskState.COMPENSATED,  # revoked for a lapsed promise
            TaskState.VOIDED,
        )
        blocked = True
        while blocked:
            blocked = False
            for task in self._inp.plan.tasks:
                state = self._task(task.task_id)
                if state.state is not TaskState.PENDING:
                    continue
                stopped = [d for d in task.depends_on if self._task(d).state in ended]
                if stopped:
                    state.completed_at = workflow.now()
                    state.reason = f"cancelled: {self._task(stopped[0]).title} was not approved"
                    state.enter(TaskState.CANCELLED, state.completed_at, state.reason)
                    blocked = True

    def _refuse_when_closed(self) -> None:
        if self._ending is not None or self._approving:
            raise Conflict("the application has already been decided")

    def _known_task(self, task_id: str) -> TaskProgress:
        if self._progress is None:
            raise Conflict("the application has not started yet")
        task = self._progress.find(task_id)
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
        self._announce_status()

    def _announce_status(self) -> None:
        """Tell the applicant each status the application enters (awaiting a supplement,
        escalated to an operator, compensating, running again), once; runs started before
        these announcements existed (no patch marker) go on without them."""
        assert self._progress is not None
        status = self._progress.status
        escalated = [t.title for t in self._tasks() if t.state in ESCALATED_DECISIONS]
        shown = "escalated" if escalated and status is ApplicationStatus.RUNNING else status.value
        if shown == self._shown_status:
            return
        self._shown_status = shown
        if not self._since(STATUS_EVENTS):
            return
        waiting = [t.title for t in self._tasks_in(TaskState.AWAITING_SUPPLEMENT)]
        reasons = {
            "escalated": "an operator looks into: " + ", ".join(escalated),
            ApplicationStatus.AWAITING_SUPPLEMENT.value: "a supplement is asked for: "
            + ", ".join(waiting),
            ApplicationStatus.COMPENSATING.value: self._ending[1] if self._ending else None,
        }
        self._status_event(shown, reasons.get(shown))

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

    def _outputs(self) -> dict[str, dict[str, str]]:
        return {t.task_id: t.outputs for t in self._tasks()}

    # -- the platform ------------------------------------------------------------------------

    def _since(self, patch: str) -> bool:
        """Whether this run takes the change `patch` names: every run from revision 1, with no
        marker; a run of revision 0 if its history has (or, new, records) the patch."""
        assert self._inp is not None
        return self._inp.revision >= 1 or workflow.patched(patch)

    def _index(self) -> None:
        """Keep the operators' search attributes in step: status, departments, escalation (from
        revision 1 once per workflow task, by `_keep_indexed`)."""
        assert self._inp is not None
        if self._inp.revision == 0:
            self._upsert_index()

    async def _keep_indexed(self) -> None:
        """Upsert the search attributes once a workflow task has made all its changes (a
        condition is checked only when nothing else in the workflow can run), starting from
        those the run was started with."""
        attributes = workflow.info().typed_search_attributes
        status = attributes.get(APPLICATION_STATUS)
        if status is not None:
            pending = sorted(attributes.get(PENDING_DEPARTMENTS) or [])
            self._indexed = (status, pending, bool(attributes.get(ESCALATED)))
        while True:
            await workflow.wait_condition(
                lambda: not self._approving_since_r4() and self._wanted_index() != self._indexed
            )
            self._upsert_index()

    def _wanted_index(self) -> Indexed:
        assert self._progress is not None
        pending = sorted({t.department for t in self._tasks() if t.state in WAITED_ON})
        escalated = any(t.state in ESCALATED_DECISIONS for t in self._tasks())
        return (self._progress.status.value, pending, escalated)

    def _upsert_index(self) -> None:
        indexed = self._wanted_index()
        if indexed != self._indexed:
            self._indexed = indexed
            workflow.upsert_search_attributes(
                [
                    APPLICATION_STATUS.value_set(indexed[0]),
                    PENDING_DEPARTMENTS.value_set(indexed[1]),
                    ESCALATED.value_set(indexed[2]),
                ]
            )

    def _count(self, name: str, description: str, department: str) -> None:
        workflow.metric_meter().create_counter(name, description).add(1, {"department": department})

    def _publish_status(self) -> None:
        assert self._progress is not None
        self._status_event(self._progress.status.value, self._progress.reason)

    def _status_event(self, status: str, reason: str | None) -> None:
        """Tell the applicant, through the outbox, what the application is now and why."""
        assert self._progress is not None
        self._statuses.append(
            ApplicationStatusChanged(
                application_id=self._progress.id,
                one_thing=self._progress.one_thing,
                status=status,
                reason=reason,
                at=workflow.now(),
            )
        )

    # -- the outbox: every state change goes out on onething.status, from here only ----------

    def _take_task_events(self, task: TaskProgress) -> list[TaskStateChanged]:
        """The task's timeline entries not yet announced; from now on they count as announced."""
        assert self._progress is not None
        start = self._announced.get(task.task_id, 0)
        self._announced[task.task_id] = len(task.timeline)
        return [
            TaskStateChanged(
                application_id=self._progress.id,
                task_id=task.task_id,
                department=task.department,
                state=entry.state.value,
                attempt=max(entry.attempt, 1),
                at=entry.at,
            )
            for entry in task.timeline[start:]
        ]

    def _unannounced(self) -> bool:
        return bool(self._statuses) or any(
            len(t.timeline) > self._announced.get(t.task_id, 0) for t in self._tasks()
        )

    async def _announce(self) -> None:
        """Publish what changed, one activity per batch, until the application has ended and
        everything is out. (A dispatch's own changes ride with its command instead; from
        revision 1, everything that changed in a workflow task that dispatches.)"""
        while True:
            await workflow.wait_condition(
                lambda: (self._unannounced() and not self._approving_since_r4()) or self._closing
            )
            if not self._unannounced():
                return
            await self._publish_events(self._take_announcements())

    def _approving_since_r4(self) -> bool:
        """From revision 4 what changes while the application is approved (its last answers,
        the departments no longer waited on) is announced and indexed with the approval:
        one status event batch and one upsert, not two of each, in the workflow task that
        ends it."""
        assert self._inp is not None
        return self._approving and self._inp.revision >= 4

    def _take_announcements(self) -> Announcements:
        """Everything not yet announced; from now on it counts as announced."""
        batch = Announcements(
            tasks=[e for t in self._tasks() for e in self._take_task_events(t)],
            statuses=self._statuses,
        )
        self._statuses = []
        return batch

    async def _publish_events(self, batch: Announcements) -> None:
        try:
            await self._publish(PUBLISH_EVENTS, batch, STATUS_EVENT_LIFETIME)
        except ActivityError as err:  # the broker was away for an hour: the record stands
            workflow.logger.warning("status events not published: %s", err.cause)

    async def _publish(self, name: str, what: object, lifetime: timedelta) -> None:
        """Publish to the broker: first within the workflow task (no round trip to the
        server: what a dispatch or an application's end would otherwise wait for); if the
        broker does not take it within seconds, as an ordinary activity that keeps trying for
        `lifetime`."""
        if await self._within_task(name, what):
            return
        await workflow.execute_activity(
            name,
            what,
            start_to_close_timeout=PUBLISH_TIMEOUT,
            schedule_to_close_timeout=lifetime,
            retry_policy=PUBLISH_RETRY,
        )

    async def _within_task(self, name: str, what: object) -> bool:
        """Run the activity `name` as a local activity, within the workflow task; False if it
        failed or timed out (the caller then runs it as an ordinary activity). The try ends
        well inside the SDK's local retry threshold, so it never leaves a backoff timer behind:
        a restarted worker replays its marker, whatever became of it; a worker dying during it
        fails the workflow task, which runs again on another worker within seconds."""
        try:
            await workflow.execute_local_activity(
                name,
                what,
                schedule_to_close_timeout=WITHIN_TASK_TIMEOUT,
                retry_policy=WITHIN_TASK_RETRY,
            )
            return True
        except FailureError:  # a local activity's own failure, or its time-out
            return False
