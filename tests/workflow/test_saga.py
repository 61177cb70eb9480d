"""The saga on its own: forward path, the way back, escalation, what people send."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer, Worker

from events.contracts import Action, Outcome
from one_things import Applicant, form_model, load_catalogue, plan
from one_things.plan import ExecutionPlan
from one_things.schema import OnFailure
from orchestrator.errors import UpdateRefused
from orchestrator.ops import updates
from orchestrator.workflow.late import LateUndoWorkflow
from orchestrator.workflow.models import (
    Announcements,
    ApplicationInput,
    ApplicationStatus,
    Awaiting,
    IssueLicences,
    LateApproval,
    OperatorAction,
    OperatorDecision,
    Progress,
    PublishCommand,
    PublishCommands,
    StartProactive,
    TakenIn,
    TaskAnswer,
    TaskState,
    Withdrawal,
)
from orchestrator.workflow.names import (
    AWAIT_ANSWER,
    ISSUE_LICENCES,
    OPERATOR,
    PENDING_DEPARTMENTS,
    PUBLISH_COMMAND,
    PUBLISH_COMMANDS,
    PUBLISH_EVENTS,
    REVISION,
    START_PROACTIVE,
    TAKEN_IN,
    WITHDRAW,
    WORKFLOW,
)
from orchestrator.workflow.platform import start_index
from orchestrator.workflow.sandbox import sandbox
from orchestrator.workflow.workflow import OneThingWorkflow
from tests.bench.measure import LOCAL_ACTIVITY_MARKER

CATALOGUE = load_catalogue()
OPENING = CATALOGUE.get("enterprise_opening")
# answered in this order, so completion (and undo) order is known
DELAYS = {
    "business_registration": 0.0,
    "seal_engraving": 0.1,
    "tax_registration": 0.2,
    "social_insurance": 0.3,
    "housing_fund": 0.4,
    "bank_account": 0.5,
}
MARKER = "marker_recorded_event_attributes"
CHANGE_VERSION = "TemporalChangeVersion"
SILENT, FAIL, CARELESS = "silent", "fail", "careless"  # careless: approved, no outputs


@dataclass
class Departments:
    """Answers each dispatch as scripted: by (task, action), one step per dispatch."""

    script: dict[tuple[str, Action], list[str]] = field(default_factory=dict)
    awaited: list[tuple[str, Action, int]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)  # commands per publish
    licences_issued: asyncio.Event = field(default_factory=asyncio.Event)
    hold_licences: bool = False
    broker_down: bool = False
    lost_once: Client | None = None  # given: a command sent again is answered approved
    published: list[str] = field(default_factory=list)  # the awaiting activity of each command

    @activity.defn(name=AWAIT_ANSWER)
    async def await_answer(self, awaiting: Awaiting) -> TaskAnswer:
        task_id, action_name, attempt_text = activity.info().activity_id.split(":")
        action, attempt = Action(action_name), int(attempt_text)
        self.awaited.append((task_id, action, attempt))
        steps = self.script.get((task_id, action), [])
        step = steps[min(attempt, len(steps)) - 1] if steps else None
        if action is Action.HANDLE:
            await asyncio.sleep(DELAYS.get(task_id, 0.0))
        if step == SILENT:
            activity.raise_complete_async()
        if step == FAIL:
            raise ApplicationError("the system is down", type="DepartmentFailed")
        if action is not Action.HANDLE:
            return TaskAnswer(outcome=Outcome(step or "compensated"), attempt=attempt, reason=step)
        outcome = Outcome("approved" if step in (None, CARELESS) else step)
        outputs = {} if step == CARELESS else {o: f"{o}-1" for o in OPENING.matter(task_id).outputs}
        return TaskAnswer(outcome=outcome, attempt=attempt, outputs=outputs, reason="scripted")

    @activity.defn(name=PUBLISH_COMMAND)
    async def publish_command(self, inp: PublishCommand) -> None:
        assert inp.awaiting and inp.attempt >= 1
        self.events += [f"{e.task_id} {e.state}" for e in inp.announce]
        self.published.append(inp.awaiting)
        if self.lost_once is not None and self.published.count(inp.awaiting) == 2:
            outputs = {o: f"{o}-1" for o in OPENING.matter(inp.task.task_id).outputs}
            answer = TaskAnswer(outcome=Outcome.APPROVED, attempt=inp.attempt, outputs=outputs)
            await self.lost_once.get_async_activity_handle(
                workflow_id=inp.application_id, run_id=None, activity_id=inp.awaiting
            ).complete(answer)

    @activity.defn(name=PUBLISH_COMMANDS)
    async def publish_commands(self, batch: PublishCommands) -> None:
        self.batches.append(len(batch.commands))
        for command in batch.commands:
            await self.publish_command(command)
        if batch.announce is not None:
            await self.publish_events(batch.announce)

    @activity.defn(name=PUBLISH_EVENTS)
    async def publish_events(self, batch: Announcements) -> None:
        if self.broker_down:
            raise RuntimeError("[Error 45] OutOfOrderSequenceNumber")
        self.events += [f"{e.task_id} {e.state}" for e in batch.tasks]
        self.events += [f"application {e.status}" for e in batch.statuses]

    def statuses(self) -> list[str]:
        return [e for e in self.events if e.startswith("application ")]

    @activity.defn(name=ISSUE_LICENCES)
    async def issue_licences(self, inp: IssueLicences) -> None:
        self.licences_issued.set()
        while self.hold_licences:
            await asyncio.sleep(0.05)

    @activity.defn(name=START_PROACTIVE)
    async def start_proactive(self, inp: StartProactive) -> str:
        return "ot-started"

    def undone(self) -> list[str]:
        return [t for t, action, _ in self.awaited if action is not Action.HANDLE]


@asynccontextmanager
async def worker(client: Client, departments: Departments, queue: str) -> AsyncIterator[None]:
    """A worker on `queue` whose activities are `departments`."""
    async with Worker(
        client,
        task_queue=queue,
        workflows=[OneThingWorkflow, LateUndoWorkflow],
        activities=[
            departments.await_answer,
            departments.publish_command,
            departments.publish_commands,
            departments.publish_events,
            departments.issue_licences,
            departments.start_proactive,
        ],
        workflow_runner=sandbox(),
    ):
        yield


def opening_plan() -> ExecutionPlan:
    form = form_model(OPENING).model_validate(OPENING.example.form)
    return plan(OPENING, Applicant.model_validate(OPENING.example.applicant), form, 2.0)


@asynccontextmanager
async def running(
    client: Client,
    departments: Departments,
    attributes: TypedSearchAttributes | None = None,
    **inputs: object,
) -> AsyncIterator[WorkflowHandle[OneThingWorkflow, Progress]]:
    """One enterprise opening, on a worker of its own (started with `attributes`)."""
    queue = f"saga-{uuid.uuid4().hex[:8]}"
    inp = ApplicationInput.model_validate(
        {
            "application_id": f"ot-{uuid.uuid4().hex}",
            "plan": opening_plan(),
            "submitted_at": datetime.now(UTC),
            "dispatch_attempts": 2,
            "undo_attempts": 2,
            "revision": REVISION,
            **inputs,
        }
    )
    async with worker(client, departments, queue):
        handle = await client.start_workflow(
            OneThingWorkflow.run,
            inp,
            id=inp.application_id,
            task_queue=queue,
            search_attributes=attributes,
        )
        yield handle


async def ended(handle: WorkflowHandle[Any, Progress]) -> Progress:
    async with asyncio.timeout(60):
        progress = await handle.result()
    history = await handle.fetch_history()
    converter = handle._client.data_converter
    replayer = Replayer(workflows=[OneThingWorkflow, LateUndoWorkflow], data_converter=converter)
    await replayer.replay_workflow(history)  # deterministic, every path
    markers = [e.marker_recorded_event_attributes for e in history.events if e.HasField(MARKER)]
    kinds = {
        orjson.loads(m.details["data"].payloads[0].data)["activity_type"]
        for m in markers
        if m.marker_name == LOCAL_ACTIVITY_MARKER
    }
    assert PUBLISH_COMMANDS in kinds
    # publishing and keeping licences only, never a decision
    assert kinds <= {PUBLISH_COMMANDS, PUBLISH_EVENTS, ISSUE_LICENCES}
    if history.events[0].workflow_execution_started_event_attributes.workflow_type.name == (
        WORKFLOW
    ):  # from revision 1: no patch marker, nor the TemporalChangeVersion upsert each one brings
        assert all(m.marker_name == LOCAL_ACTIVITY_MARKER for m in markers)
        assert not any(CHANGE_VERSION in str(e) for e in history.events)
    return progress


@pytest.mark.parametrize("started_indexed", [False, True], ids=["bare start", "as the intake"])
async def test_a_new_run_s_first_workflow_task_indexes_and_announces_once(
    client: Client, started_indexed: bool
) -> None:
    """Its upsert names the department it now waits on (none, if the run started with those
    attributes, as the intake starts it), and the application's status rides with the
    command: one local activity."""
    departments = Departments({("business_registration", Action.HANDLE): [SILENT]})
    amr = next(t.department for t in opening_plan().tasks if t.task_id == "business_registration")
    attributes = TypedSearchAttributes(start_index(opening_plan())) if started_indexed else None
    async with running(client, departments, attributes) as handle:
        async with asyncio.timeout(10):  # no query meanwhile: one makes a workflow task end early
            while "EVENT_TYPE_MARKER_RECORDED" not in (kinds := await event_kinds(handle)):
                await asyncio.sleep(0.1)
        described = await handle.describe()
        await handle.terminate("seen")
    assert described.typed_search_attributes.get(PENDING_DEPARTMENTS) == [amr]
    upserts = kinds.count("EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES")
    assert upserts == (0 if started_indexed else 1)
    assert kinds.count("EVENT_TYPE_MARKER_RECORDED") == 1
    assert departments.batches == [1]
    assert departments.events == ["business_registration dispatched", "application running"]


async def event_kinds(handle: WorkflowHandle[Any, Progress]) -> list[str]:
    return [EventType.Name(e.event_type) for e in (await handle.fetch_history()).events]


async def state_of(
    handle: WorkflowHandle[Any, Progress], task_id: str, state: TaskState
) -> Progress:
    async with asyncio.timeout(30):
        while (progress := await handle.query(OneThingWorkflow.progress)).task(
            task_id
        ).state is not state:
            await asyncio.sleep(0.1)
    return progress


async def test_all_approved_in_dependency_order(client: Client) -> None:
    departments = Departments()
    async with running(client, departments) as handle:
        progress = await ended(handle)
    assert progress.status.value == "approved"
    assert departments.awaited[0][0] == "business_registration"  # the others need its code
    assert departments.batches == [1, 6]  # the six it unblocks go out in one publish
    assert departments.statuses() == ["application running", "application approved"]
    kinds = await event_kinds(handle)  # one timer watches the commands, left running at the end
    assert (kinds.count("EVENT_TYPE_TIMER_STARTED"), kinds.count("EVENT_TYPE_TIMER_CANCELED")) == (
        1,
        0,
    )
    announced = [e for e in departments.events if not e.startswith("application ")]
    timelines = [f"{t.task_id} {e.state.value}" for t in progress.tasks for e in t.timeline]
    assert sorted(announced) == sorted(timelines)  # every change, once: commands carry some


def opening_plan_of_days() -> ExecutionPlan:
    form = form_model(OPENING).model_validate(OPENING.example.form)
    return plan(OPENING, Applicant.model_validate(OPENING.example.applicant), form)


async def test_a_command_lost_on_the_way_is_sent_again_and_answered(client: Client) -> None:
    """No answer nor receipt within `redelivery_seconds`: the same dispatch goes out again
    (long before its time limit of days), and its answer completes it."""
    departments = Departments({("business_registration", Action.HANDLE): [SILENT]})
    departments.lost_once = client
    inputs = {"plan": opening_plan_of_days(), "redelivery_seconds": 1.0}
    async with running(client, departments, **inputs) as handle:
        progress = await ended(handle)
    assert progress.status.value == "approved"
    registration = progress.task("business_registration")
    assert registration.attempt == 1
    assert "sent again: no answer nor receipt in 1 s" in [e.detail for e in registration.timeline]
    assert departments.published.count("business_registration:handle:1") == 2
    assert len(departments.published) == len(set(departments.published)) + 1  # only that one


async def test_a_command_taken_in_is_not_sent_again(client: Client) -> None:
    departments = Departments({("business_registration", Action.HANDLE): [SILENT]})
    inputs = {"plan": opening_plan_of_days(), "redelivery_seconds": 1.0}
    async with running(client, departments, **inputs) as handle:
        await state_of(handle, "business_registration", TaskState.DISPATCHED)
        await handle.signal(TAKEN_IN, TakenIn(task_id="business_registration", attempt=1))
        await state_of(handle, "business_registration", TaskState.ACCEPTED)
        await asyncio.sleep(2.5)
        kinds = await event_kinds(handle)
        await handle.terminate("seen")
    assert departments.published == ["business_registration:handle:1"]
    assert kinds.count("EVENT_TYPE_TIMER_STARTED") == 1


async def test_a_late_rejection_undoes_the_completed_tasks_newest_first(client: Client) -> None:
    departments = Departments({("bank_account", Action.HANDLE): ["rejected"]})
    async with running(client, departments) as handle:
        progress = await ended(handle)
    assert progress.status.value == "rejected" and progress.reason
    assert progress.reason.startswith(OPENING.matter("bank_account").title)
    assert departments.undone() == [
        "housing_fund",
        "social_insurance",
        "tax_registration",
        "seal_engraving",
        "medical_insurance_registration",
        "business_registration",
    ]
    assert [t.task_id for t in progress.undone()] == departments.undone()


async def test_an_undo_refused_is_kept_and_the_way_back_goes_on(client: Client) -> None:
    departments = Departments(
        {
            ("bank_account", Action.HANDLE): ["rejected"],
            ("tax_registration", Action.COMPENSATE): ["rejected"],
        }
    )
    async with running(client, departments) as handle:
        progress = await ended(handle)
    tax = progress.task("tax_registration")
    assert tax.state is TaskState.UNDO_REFUSED and tax.compensated_at is None
    assert departments.undone()[-2:] == ["medical_insurance_registration", "business_registration"]
    assert {t.task_id for t in progress.undone()} == {
        "housing_fund",
        "social_insurance",
        "seal_engraving",
        "medical_insurance_registration",
        "business_registration",
    }
    assert progress.reason and f"not undone: {tax.title}" in progress.reason
    assert "tax_registration undo_refused" in departments.events


async def test_an_undo_failing_past_its_limit_waits_for_an_operator(client: Client) -> None:
    departments = Departments(
        {
            ("bank_account", Action.HANDLE): ["rejected"],
            ("seal_engraving", Action.COMPENSATE): [FAIL],
        }
    )
    async with running(client, departments) as handle:
        waiting = await state_of(handle, "seal_engraving", TaskState.UNDO_ESCALATED)
        assert waiting.status.value == "compensating"
        assert "business_registration" not in departments.undone()  # the way back waits
        fail = OperatorAction(task_id="seal_engraving", decision=OperatorDecision.FAIL)
        with pytest.raises(UpdateRefused, match="fail is not open"):
            await updates.send(client, handle.id, OPERATOR, fail)
        resolve = OperatorAction(
            task_id="seal_engraving", decision=OperatorDecision.RESOLVE, reason="销毁印章，线下办结"
        )
        assert await updates.send(client, handle.id, OPERATOR, resolve) == "resolve"
        progress = await ended(handle)
    seal = progress.task("seal_engraving")
    assert seal.state is TaskState.COMPENSATED
    assert seal.timeline[-1].detail == "settled by hand by an operator: 销毁印章，线下办结"
    assert departments.undone()[-1] == "business_registration"
    assert "seal_engraving undo_escalated" in departments.events


async def test_a_missing_upstream_value_fails_the_task_never_the_workflow(client: Client) -> None:
    """Should an incomplete approval ever reach the workflow, the tasks that need what it left
    out fail, the application is rejected and undone; the history replays."""
    departments = Departments({("business_registration", Action.HANDLE): [CARELESS]})
    async with running(client, departments) as handle:
        progress = await ended(handle)
    assert progress.status.value == "rejected" and progress.reason
    assert "gave no unified_social_credit_code" in progress.reason
    failed = [t for t in progress.tasks if t.state is TaskState.FAILED]
    assert failed and all("unified_social_credit_code" in (t.reason or "") for t in failed)
    assert progress.task("business_registration").state is TaskState.COMPENSATED


async def test_an_escalated_task_is_retried_by_an_operator(client: Client) -> None:
    departments = Departments({("housing_fund", Action.HANDLE): [FAIL, SILENT, "approved"]})
    async with running(client, departments) as handle:
        escalated = await state_of(handle, "housing_fund", TaskState.ESCALATED)
        housing = escalated.task("housing_fund")
        assert housing.attempt == 2
        assert housing.reason == "no answer from the department within its time limit"
        retry = OperatorAction(task_id="housing_fund", decision=OperatorDecision.RETRY)
        assert await updates.send(client, handle.id, OPERATOR, retry) == "retry"
        progress = await ended(handle)
    assert progress.status.value == "approved" and progress.task("housing_fund").attempt == 3
    assert "housing_fund escalated" in departments.events


async def test_a_withdrawal_undoes_what_is_done(client: Client) -> None:
    departments = Departments({("bank_account", Action.HANDLE): [SILENT]})
    async with running(client, departments) as handle:
        await state_of(handle, "housing_fund", TaskState.APPROVED)
        status = await updates.send(client, handle.id, WITHDRAW, Withdrawal(reason="改期"))
        assert status == "compensating"
        with pytest.raises(UpdateRefused, match="already ending"):
            await updates.send(client, handle.id, WITHDRAW, Withdrawal(reason="again"))
        progress = await ended(handle)
    assert progress.status.value == "withdrawn" and progress.reason
    assert progress.reason == "withdrawn by the applicant: 改期"
    assert progress.task("bank_account").state is TaskState.CANCELLED
    assert len(departments.undone()) == 6


async def test_a_withdrawal_after_the_approval_is_refused(client: Client) -> None:
    departments = Departments(hold_licences=True)
    async with running(client, departments) as handle:
        await asyncio.wait_for(departments.licences_issued.wait(), 30)
        with pytest.raises(UpdateRefused, match="already been approved"):
            await updates.send(client, handle.id, WITHDRAW, Withdrawal(reason="too late"))
        departments.hold_licences = False
        progress = await ended(handle)
    assert progress.status.value == "approved" and not departments.undone()


async def test_status_events_failing_across_a_worker_restart_leave_it_replayable(
    client: Client,
) -> None:
    """The broker outage that once broke a history: status publishes failing for a while,
    the worker restarted meanwhile (no cache), the workflow finishing on the new one."""
    departments = Departments({("bank_account", Action.HANDLE): ["rejected"]}, broker_down=True)
    async with running(client, departments) as handle:
        await state_of(handle, "bank_account", TaskState.REJECTED)
        queue = (await handle.describe()).task_queue
    async with worker(client, departments, queue):
        await asyncio.sleep(3)  # publishes keep failing on the new worker too
        departments.broker_down = False
        progress = await ended(handle)
    assert progress.status.value == "rejected" and len(progress.undone()) == 6
    assert sorted(departments.statuses()) == [
        "application compensating",
        "application rejected",
        "application running",
    ]


async def test_a_late_approval_is_undone_through_the_way_back(client: Client) -> None:
    """Its own workflow: the undo failing past its limit waits for an operator, as in the
    application's way back; only the task's states are announced, never a status."""
    departments = Departments({("bank_account", Action.COMPENSATE): [FAIL, FAIL, "compensated"]})
    queue = f"late-{uuid.uuid4().hex[:8]}"
    late = LateApproval(
        application_id=f"ot-{uuid.uuid4().hex}",
        one_thing=OPENING.id,
        catalogue_version="test",
        task=next(t for t in opening_plan().tasks if t.task_id == "bank_account"),
        attempt=2,
        outputs={"bank_account_number": "6222-1"},
        given_up_as=TaskState.CANCELLED,
        undo_attempts=2,
    )
    async with worker(client, departments, queue):
        handle = await client.start_workflow(
            LateUndoWorkflow.run, late, id=f"late:{late.application_id}", task_queue=queue
        )
        waiting = await state_of(handle, "bank_account", TaskState.UNDO_ESCALATED)
        assert waiting.status.value == "compensating"
        retry = OperatorAction(task_id="bank_account", decision=OperatorDecision.RETRY)
        assert await updates.send(client, handle.id, OPERATOR, retry) == "retry"
        progress = await ended(handle)
    bank = progress.task("bank_account")
    assert bank.state is TaskState.COMPENSATED and bank.attempt == 2
    assert progress.status.value == "rejected" and progress.reason
    assert progress.reason.endswith(": approved after the task was cancelled")
    assert departments.undone() == ["bank_account"] * 3
    assert departments.statuses() == []
    assert departments.events[0] == "bank_account approved"
    assert departments.events[-1] == "bank_account compensated"


def going_on_without(task_id: str) -> ExecutionPlan:
    """The opening's plan, with `task_id` one the application goes on without."""
    plan = opening_plan()
    tasks = [
        t.model_copy(update={"on_failure": OnFailure.CONTINUE}) if t.task_id == task_id else t
        for t in plan.tasks
    ]
    return plan.model_copy(update={"tasks": tasks})


async def test_a_refusal_the_application_goes_on_without_ends_it_partially_approved(
    client: Client,
) -> None:
    departments = Departments({("tax_registration", Action.HANDLE): ["rejected"]})
    async with running(client, departments, plan=going_on_without("tax_registration")) as handle:
        progress = await ended(handle)
    assert progress.status is ApplicationStatus.PARTIALLY_APPROVED
    assert progress.reason == f"refused: {progress.task('tax_registration').title}: scripted"
    states = {t.task_id: t.state for t in progress.tasks}
    assert states.pop("tax_registration") is TaskState.REJECTED
    assert set(states.values()) == {TaskState.APPROVED}
    assert departments.undone() == [] and progress.undone() == []
    assert departments.licences_issued.is_set()


async def test_what_waits_on_a_refusal_the_application_goes_on_without_is_cancelled(
    client: Client,
) -> None:
    departments = Departments({("business_registration", Action.HANDLE): ["rejected"]})
    plan = going_on_without("business_registration")
    async with running(client, departments, plan=plan) as handle:
        progress = await ended(handle)
    assert progress.status is ApplicationStatus.REJECTED  # nothing could go on without it
    registration = progress.task("business_registration").title
    for task in progress.tasks[1:]:
        assert task.state is TaskState.CANCELLED
        assert task.reason == f"cancelled: {registration} was not approved"
    assert [a[0] for a in departments.awaited] == ["business_registration"]
