"""OneThingWorkflow: one per application; walks the plan DAG, dispatching ready tasks at once.

`run` is the saga: the forward path, then either the approval or the way back. When the
application cannot finish (a task is rejected for good, the applicant withdraws, a supplement
does not come in time, an operator fails an escalated task, or the workflow is cancelled
through Temporal) every completed task is undone, newest first (`way_back`). Talking to
departments is `exchange`; the record, search attributes and status events are `platform`;
the pure decisions are `steps`.

Deterministic: no I/O, no clocks, no randomness; all of that lives in activities. Commands
and status events are published by a local activity first, an ordinary one if the broker
does not take it within seconds (`platform.Platform._publish` says why).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from one_things.materials import Settled
    from one_things.plan import PlannedTask
    from one_things.workdays import WorkingCalendar
    from orchestrator.workflow import steps
    from orchestrator.workflow.models import (
        ApplicationInput,
        ApplicationStatus,
        BrokenCommitment,
        IssueLicences,
        OperatorDecision,
        Progress,
        StartProactive,
        Supplement,
        SuppliedMaterial,
        TakenIn,
        TaskAnswer,
        TaskProgress,
        TaskState,
        Withdrawal,
    )
    from orchestrator.workflow.names import (
        COMMITMENT_BROKEN,
        ISSUE_LICENCES,
        PLAN_CALENDAR,
        PLANNED_TASK,
        START_PROACTIVE,
        SUPPLEMENT,
        SUPPLY_MATERIAL,
        TAKEN_IN,
        WITHDRAW,
        WORKFLOW,
    )

from orchestrator.workflow.platform import Conflict
from orchestrator.workflow.way_back import OPEN_STATES, WayBack

__all__ = ["Conflict", "OneThingWorkflow"]
IN_FLIGHT = OPEN_STATES - {TaskState.PENDING}  # dispatched, not yet answered for good


@workflow.defn(name=WORKFLOW)
class OneThingWorkflow(WayBack):
    """Runs one composite application from its plan snapshot to its end."""

    # -- what people send -------------------------------------------------------------------

    @workflow.query(name=PLANNED_TASK)
    def planned_task(self, task_id: str) -> PlannedTask:
        """The plan snapshot of one task (to undo an approval that comes after the end)."""
        task = self._planned_by_id.get(task_id)
        if task is None:
            raise ApplicationError(f"no task {task_id!r} in this application")
        return task

    @workflow.query(name=PLAN_CALENDAR)
    def plan_calendar(self) -> WorkingCalendar | None:
        """The working days its limits are counted on (a late approval is undone by them)."""
        return None if self._inp is None else self._inp.plan.calendar

    @workflow.signal(name=TAKEN_IN)
    def taken_in(self, news: TakenIn) -> None:
        """The department took the dispatch in: the task shows it, its time limit runs on."""
        task = None if self._progress is None else self._progress.find(news.task_id)
        if task is not None and task.state is TaskState.DISPATCHED and task.attempt == news.attempt:
            task.enter(TaskState.ACCEPTED, workflow.now(), "taken in by the department")
        self._receipt(news.task_id, news.attempt)

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

    @workflow.update(name=SUPPLY_MATERIAL)
    def supply_material(self, supplied: SuppliedMaterial) -> str:
        """A promised material (容缺), uploaded in time: later commands carry it."""
        self._supply(supplied)
        self._material_news = True
        return "provided"

    @supply_material.validator
    def _may_supply(self, supplied: SuppliedMaterial) -> None:
        self._refuse_when_closed()
        open_ = {m.id: m for m in self._open_promises()}
        material = open_.get(supplied.material)
        if material is None:
            raise Conflict(f"no promised material {supplied.material!r} is open")
        if material.due is not None and workflow.now() >= material.due:
            raise Conflict(f"{material.title} was due by {steps.local_time(material.due)}")

    @workflow.update(name=COMMITMENT_BROKEN)
    def commitment_broken(self, broken: BrokenCommitment) -> str:
        """A department found a commitment untrue: its matters fail as their policies say."""
        material = next(m for m in self._materials_committed() if m.id == broken.material)
        reason = f"the commitment on {material.title} was found untrue by {broken.department}"
        self._material_failed(material, Settled.BROKEN, reason)
        self._material_news = True
        return Settled.BROKEN.value

    @commitment_broken.validator
    def _may_break(self, broken: BrokenCommitment) -> None:
        self._refuse_when_closed()
        if broken.material not in {m.id for m in self._materials_committed()}:
            raise Conflict(f"no commitment on {broken.material!r} is open")

    # -- the saga ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: ApplicationInput) -> Progress:
        self._inp = inp
        self._planned_by_id = {t.task_id: t for t in inp.plan.tasks}
        progress = self._progress = Progress(
            id=inp.application_id,
            one_thing=inp.plan.one_thing,
            catalogue_version=inp.plan.catalogue_version,
            lead_department=inp.plan.lead_department,
            time_limit=None if inp.plan.time_limit is None else str(inp.plan.time_limit),
            deadline=steps.overall_deadline(inp.plan, inp.submitted_at),
            submitted_at=inp.submitted_at,
            skipped=inp.plan.skipped,
            materials=inp.plan.materials,
            tasks=[TaskProgress.planned(t) for t in inp.plan.tasks],
        )
        self._publish_status()
        announcer = asyncio.ensure_future(self._announce())
        indexer = asyncio.ensure_future(self._keep_indexed()) if inp.revision >= 1 else None
        if inp.revision >= 2:
            self._start_redelivering()
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
            await self._undo_completed()
            progress.status = self._ending[0]
            progress.reason = steps.ending_reason(self._ending[1], self._not_undone)
        progress.completed_at = workflow.now()
        progress.supplement_due_at = None
        self._upsert_index()
        if indexer is not None:
            indexer.cancel()
        self._publish_status()
        self._closing = True
        await self._despite_cancellation(announcer)
        return progress

    async def _approve(self) -> None:
        """Keep the e-licences, start what this approval starts, then say it is approved (in
        part, when the application went on without a refused matter)."""
        assert self._inp is not None and self._progress is not None
        approved = {t.task_id for t in self._tasks() if t.state is TaskState.APPROVED}
        if self._refused and not approved:
            self._progress.status = ApplicationStatus.REJECTED
            self._progress.reason = "; ".join(self._refused)
            return
        licences = steps.licences_to_issue(
            self._inp.application_id, self._inp.plan, self._outputs(), approved
        )
        if licences:
            await self._despite_cancellation(
                self._issue(
                    IssueLicences(application_id=self._inp.application_id, licences=licences)
                )
            )
            self._progress.licences = [lic.id for lic in licences]
        if self._inp.plan.starts:
            self._progress.started = await self._start_proactive(approved)
        self._progress.status = ApplicationStatus.APPROVED
        if self._refused:
            self._progress.status = ApplicationStatus.PARTIALLY_APPROVED
            self._progress.reason = "refused: " + "; ".join(self._refused)

    async def _issue(self, licences: IssueLicences) -> None:
        """Keep the e-licences in the library: from revision 3 first within the workflow task
        that approves (no activity and workflow task more between the last answer and the
        end); else, or if the library does not take them within seconds, as an activity."""
        assert self._inp is not None
        if self._inp.revision >= 3 and await self._within_task(ISSUE_LICENCES, licences):
            return
        await workflow.execute_activity(
            ISSUE_LICENCES, licences, start_to_close_timeout=timedelta(seconds=30)
        )

    async def _advance(self, in_flight: dict[str, asyncio.Task[TaskAnswer]]) -> None:
        """Dispatch ready tasks and record answers until all are done or the end is decided."""
        assert self._inp is not None
        while self._ending is None:
            self._apply_decisions(in_flight)
            self._material_news = False
            if self._revoking:
                await self._revoke()
            if self._refused:
                self._cancel_blocked()
            states = {t.task_id: t.state for t in self._tasks()}
            for task in steps.ready(self._inp.plan, states):
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
                        or self._material_news
                    ),
                    timeout=self._next_wake(),
                )
            except TimeoutError:
                self._remind_or_lapse()
                if self._until_supplement_due() == timedelta(0):
                    waiting = [t.title for t in self._tasks_in(TaskState.AWAITING_SUPPLEMENT)]
                    self._end(
                        ApplicationStatus.REJECTED,
                        f"no supplement within the time limit for {', '.join(waiting)}",
                    )
            self._record_finished(in_flight)

    def _next_wake(self) -> timedelta | None:
        """Until a supplement or a promised material falls due (or a reminder of it)."""
        waits = (self._until_supplement_due(), self._until_next_promise())
        return min((w for w in waits if w is not None), default=None)

    def _waiting(self) -> bool:
        """True while a task waits for the applicant or an operator, or a promise is open."""
        return (
            any(
                t.state in (TaskState.AWAITING_SUPPLEMENT, TaskState.ESCALATED)
                for t in self._tasks()
            )
            or bool(self._open_promises())
            or bool(self._revoking)
        )

    async def _revoke(self) -> None:
        """Refuse the matters whose promised material lapsed (on_failure continue): one not
        started is cancelled, one approved is undone with what was approved on it, newest
        first; one in flight is revoked once it answers."""
        for task_id, reason in list(self._revoking.items()):
            state = self._task(task_id)
            if state.state in IN_FLIGHT:
                continue
            del self._revoking[task_id]
            if state.state is TaskState.PENDING:
                state.completed_at = workflow.now()
                state.reason = f"cancelled: {reason}"
                state.enter(TaskState.CANCELLED, state.completed_at, state.reason)
            elif state.state is TaskState.APPROVED:
                assert self._inp is not None
                undone = steps.dependants(self._inp.plan, task_id) | {task_id}
                for done in [t for t in reversed(self._completion_order) if t in undone]:
                    self._completion_order.remove(done)
                    await self._undo(done)
            else:
                continue  # refused or failed already
            self._refuse(self._planned_by_id[task_id], f"{state.title}: {reason}")
            self._refresh_status()

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
                self._refuse(self._planned_by_id[task_id], f"{state.title}: {state.reason}")
        self._refresh_status()

    async def _start_proactive(self, approved: set[str]) -> list[str]:
        """Start the one things this approval starts by itself, each once (the id says so),
        when the tasks whose outputs they take were approved."""
        assert self._inp is not None
        started = []
        for start in self._inp.plan.starts:
            if not steps.startable(start, approved):
                continue
            request = StartProactive(
                parent_id=self._inp.application_id,
                one_thing=start.one_thing,
                applicant=start.applicant,
                form=steps.proactive_form(start, self._outputs()),
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
