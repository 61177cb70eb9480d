"""When things go wrong: compensation, void, withdrawal, supplements, time limits, operators."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from temporalio.client import Client

from events import Outcome, TaskResult, dumps, topics, wrap
from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import Supervisor
from orchestrator.workflow.late import LateUndoWorkflow
from orchestrator.workflow.models import Progress
from orchestrator.workflow.names import AWAIT_ANSWER, late_undo_id
from tests.conftest import Observer
from tests.e2e.helpers import (
    body,
    commands,
    eventually,
    finished,
    ops,
    progress_of,
    proven_by,
    replay_and_record,
    results,
    status_becomes,
    submit,
    undo_commands,
)

pytestmark = pytest.mark.stack
CLOSED_BRANCH = "横琴已撤销网点"  # the simulated bank rejects a closed branch
SLOW_HPF = "迟复科技有限公司"  # the simulated housing fund answers only from attempt 3


def assert_undone_newest_first(progress: Progress, observer: Observer) -> None:
    """Every approved task was undone, in reverse order of completion, one after another."""
    undone = progress.undone()
    for newer, older in itertools.pairwise(undone):
        assert newer.completed_at and older.completed_at
        assert newer.completed_at >= older.completed_at, f"{newer.task_id} before {older.task_id}"
    sent = undo_commands(observer, progress.id)
    assert [c["task_id"] for _, c in sent] == [t.task_id for t in undone]
    confirmations: dict[str, int] = {}  # the first confirmation of each undo
    for at, result in results(observer, progress.id):
        if result["outcome"] == "compensated":
            confirmations.setdefault(result["task_id"], at)
    for (_, earlier), (sent_at, _) in itertools.pairwise(sent):
        assert confirmations[earlier["task_id"]] <= sent_at, "next undo sent before confirmation"


def assert_rejected_at_the_bank_and_undone(progress: Progress, observer: Observer) -> None:
    assert progress.status.value == "rejected"
    states = {t.task_id: t.state.value for t in progress.tasks}
    assert states.pop("bank_account") == "rejected"
    assert set(states.values()) == {"compensated"}  # tax was in flight: compensated once done
    assert_undone_newest_first(progress, observer)


async def test_rejection_late_in_the_application_undoes_completed_tasks_newest_first(
    http: httpx.AsyncClient, observer: Observer, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", bank_branch=CLOSED_BRANCH))
    progress = await finished(http, app_id)
    assert_rejected_at_the_bank_and_undone(progress, observer)
    assert progress.reason and "bank account booking" in progress.reason
    assert all(t.completed_at and t.compensated_at for t in progress.tasks if t.compensated_at)
    tax = progress.task("tax_registration")
    # not done before the bank refused (answers taken in one workflow task share its time)
    assert tax.completed_at and tax.completed_at >= progress.task("bank_account").completed_at  # type: ignore[operator]
    await eventually(lambda: len(undo_commands(observer, app_id)) == 6)
    assert_undone_newest_first(progress, observer)
    assert {c["action"] for _, c in undo_commands(observer, app_id)} == {"compensate"}
    for _, undo in undo_commands(observer, app_id):  # the act, not the applicant's data again
        act = {*progress.task(undo["task_id"]).outputs, "department_reference"}
        assert undo["payload"] and set(undo["payload"]) <= act, undo["payload"]
    await replay_and_record(temporal, app_id, "enterprise_opening_rejected_compensated")


async def test_irreversible_matters_are_voided_and_the_applicant_told(
    http: httpx.AsyncClient, observer: Observer, temporal: Client
) -> None:
    request = body("birth", baby_name="Li Xiaoming")  # hukou needs standard characters
    progress = await finished(http, await submit(http, request))
    assert progress.status.value == "rejected"
    assert progress.reason and "standard Chinese characters" in progress.reason
    assert progress.task("birth_medical_certificate").state.value == "voided"
    assert progress.task("vaccination_certificate").state.value == "voided"
    for compensated in ("maternity_reimbursement", "birth_registration", "parenting_guidance"):
        assert progress.task(compensated).state.value == "compensated"
    assert progress.task("hukou_registration").state.value == "rejected"
    assert progress.task("social_security_card").state.value == "cancelled"
    voided = progress.task("birth_medical_certificate")
    assert voided.compensated_at and "void_reference" in voided.outputs
    sent = await eventually(
        lambda: (
            len(undo_commands(observer, progress.id)) == 5 and undo_commands(observer, progress.id)
        )
    )
    actions = {c["task_id"]: c["action"] for _, c in sent}
    assert actions == {
        "birth_medical_certificate": "void",
        "vaccination_certificate": "void",
        "maternity_reimbursement": "compensate",
        "birth_registration": "compensate",
        "parenting_guidance": "compensate",
    }
    assert_undone_newest_first(progress, observer)
    await replay_and_record(temporal, progress.id, "birth_rejected_voided")


async def test_withdrawal_undoes_the_application_and_a_late_approval_is_compensated(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", company_name=SLOW_HPF))
    await eventually(lambda: "housing_fund" in commands(observer, app_id))
    response = await http.post(f"/v1/applications/{app_id}/withdraw", json={"reason": "搬迁"})
    assert response.status_code == 202, response.text
    progress = await finished(http, app_id)
    assert progress.status.value == "withdrawn"
    assert progress.reason == "withdrawn by the applicant: 搬迁"
    assert progress.task("housing_fund").state.value == "cancelled"
    assert {t.state.value for t in progress.tasks} == {"compensated", "cancelled"}
    assert_undone_newest_first(progress, observer)
    again = await http.post(f"/v1/applications/{app_id}/withdraw", json={"reason": "again"})
    assert again.status_code == 409 and "already withdrawn" in again.text
    # the housing fund answers at last: it did the work, so it is told to undo it
    command = commands(observer, app_id)["housing_fund"]
    late = TaskResult(
        application_id=app_id,
        task_id="housing_fund",
        attempt=command["attempt"],
        department="hpf",
        reply_token=command["reply_token"],
        outcome=Outcome.APPROVED,
        outputs={"housing_fund_account": "HPF-1"},
    )
    await publish(settings, topics.RESULTS, app_id, dumps(wrap(proven_by(late, settings, "hpf"))))
    undo = await eventually(
        lambda: [c for _, c in undo_commands(observer, app_id) if c["task_id"] == "housing_fund"]
    )
    assert undo[0]["action"] == "compensate" and undo[0]["department"] == "hpf"
    # through the way back of its own workflow: answered, retried, escalated like any undo
    late_undo = temporal.get_workflow_handle_for(
        LateUndoWorkflow.run, late_undo_id(app_id, "housing_fund", command["attempt"])
    )
    undone = await asyncio.wait_for(late_undo.result(), 30)
    assert undone.task("housing_fund").state.value == "compensated"
    assert undone.reason and undone.reason.startswith("住房公积金缴存登记")
    assert undone.reason.endswith(": approved after the task was cancelled")
    await publish(settings, topics.RESULTS, app_id, dumps(wrap(proven_by(late, settings, "hpf"))))
    await asyncio.sleep(2)  # the same late approval again starts no second undo
    sent = [c for _, c in undo_commands(observer, app_id) if c["task_id"] == "housing_fund"]
    assert len(sent) == 1
    await replay_and_record(temporal, app_id, "enterprise_opening_withdrawn")


async def test_a_supplement_redispatches_the_task_and_the_application_is_approved(
    http: httpx.AsyncClient, observer: Observer, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", payroll_certificate_ref=None))
    waiting = await status_becomes(http, app_id, "awaiting_supplement")
    task = waiting.task("social_insurance")
    assert task.state.value == "awaiting_supplement"
    assert task.supplement_fields == ["payroll_certificate_ref"]
    assert waiting.supplement_due_at is not None
    url = f"/v1/applications/{app_id}/supplements"
    wrong = await http.post(
        url, json={"task_id": "social_insurance", "fields": {"company_name": "别的公司"}}
    )
    assert wrong.status_code == 422
    locations = [e["loc"] for e in wrong.json()["errors"]]
    assert ["body", "fields", "company_name"] in locations
    assert ["body", "fields", "payroll_certificate_ref"] in locations
    too_long = await http.post(
        url, json={"task_id": "social_insurance", "fields": {"payroll_certificate_ref": "x" * 41}}
    )
    assert too_long.status_code == 422
    ok = await http.post(
        url,
        json={"task_id": "social_insurance", "fields": {"payroll_certificate_ref": "GZ-2026-0042"}},
    )
    assert ok.status_code == 202, ok.text
    progress = await finished(http, app_id)
    assert progress.status.value == "approved"
    assert progress.task("social_insurance").attempt == 2
    resent = commands(observer, app_id)["social_insurance"]
    assert resent["payload"]["payroll_certificate_ref"] == "GZ-2026-0042"
    assert resent["attempt"] == 2
    assert resent["idempotency_key"] == f"{app_id}/social_insurance/handle"
    await replay_and_record(temporal, app_id, "enterprise_opening_supplemented")


async def test_no_supplement_in_time_rejects_with_compensation(
    http: httpx.AsyncClient, observer: Observer, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", payroll_certificate_ref=None))
    progress = await finished(http, app_id)
    assert progress.status.value == "rejected"
    assert progress.reason and "no supplement within the time limit" in progress.reason
    assert progress.task("social_insurance").state.value == "cancelled"
    assert progress.task("business_registration").state.value == "compensated"
    assert_undone_newest_first(progress, observer)
    await replay_and_record(temporal, app_id, "enterprise_opening_supplement_timed_out")


async def test_time_out_redispatch_escalation_operator_retry_approval(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", company_name=SLOW_HPF))
    async with asyncio.timeout(10):  # the department takes it in (HTTP 202) but decides nothing
        while (taken := (await progress_of(http, app_id)).task("housing_fund")).state.value != (
            "accepted"
        ):
            await asyncio.sleep(0.1)
    assert taken.timeline[-1].detail == "taken in by the department" and taken.deadline
    escalated = await eventually(
        lambda: [
            e for e in observer.on(topics.STATUS, app_id) if e["data"].get("state") == "escalated"
        ],
        timeout=30,
    )
    assert escalated[0]["data"]["task_id"] == "housing_fund"
    progress = await progress_of(http, app_id)
    housing = progress.task("housing_fund")
    assert housing.state.value == "escalated" and housing.attempt == 2
    assert housing.reason == "no answer from the department within its time limit"
    wrong = ops(settings, "retry", app_id, "tax_registration")
    assert wrong.returncode == 1 and "retry is not open" in wrong.stdout
    assert ops(settings, "retry", app_id, "housing_fund").returncode == 0
    done = await finished(http, app_id)
    assert done.status.value == "approved"
    assert done.task("housing_fund").attempt == 3
    sent = [e["data"]["attempt"] for e in observer.on(topics.department_tasks("hpf"), app_id)]
    assert sent == [1, 2, 3]
    await replay_and_record(temporal, app_id, "enterprise_opening_escalated_retried")


async def test_operator_fail_rejects_and_undoes(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", company_name=SLOW_HPF))
    await status_of_task(http, app_id, "housing_fund", "escalated")
    await eventually(lambda: app_id in ops(settings, "list", "--escalated").stdout, timeout=10)
    result = ops(settings, "fail", app_id, "housing_fund", "--reason", "公积金中心系统停机")
    assert result.returncode == 0, result.stdout
    progress = await finished(http, app_id)
    assert progress.status.value == "rejected"
    assert progress.reason and progress.reason.startswith("住房公积金缴存登记")
    assert progress.reason.endswith(": failed by an operator: 公积金中心系统停机")
    assert progress.task("housing_fund").state.value == "failed"
    assert_undone_newest_first(progress, observer)
    await replay_and_record(temporal, app_id, "enterprise_opening_escalated_failed")


async def test_cancelling_the_workflow_during_compensation_does_not_skip_it(
    http: httpx.AsyncClient, observer: Observer, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", bank_branch=CLOSED_BRANCH))
    await status_becomes(http, app_id, "compensating")
    await temporal.get_workflow_handle(app_id).cancel()
    progress = await finished(http, app_id)
    assert_rejected_at_the_bank_and_undone(progress, observer)
    await replay_and_record(temporal, app_id, "enterprise_opening_cancelled_during_compensation")


async def test_killing_the_worker_during_compensation_does_not_skip_it(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await submit(http, body("enterprise opening", bank_branch=CLOSED_BRANCH))
    await status_becomes(http, app_id, "compensating")
    supervisor = Supervisor(settings.state_dir)
    worker = supervisor.pid("worker")
    assert worker is not None
    os.killpg(worker, signal.SIGKILL)
    await eventually(lambda: supervisor.pid("worker") is None)
    await asyncio.to_thread(Deployment(settings).up)  # restarts only what is missing
    assert supervisor.pid("worker") not in (None, worker)
    progress = await finished(http, app_id)
    assert_rejected_at_the_bank_and_undone(progress, observer)


async def test_every_result_twice_and_out_of_order_is_applied_once(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    """Answers and compensation confirmations alike, each echoed twice, newest first."""
    app_id = await submit(http, body("enterprise opening", bank_branch=CLOSED_BRANCH))
    echoed: set[bytes] = set()

    async def echo_every_result_twice_in_reverse() -> None:
        while True:
            fresh = [
                r
                for r in observer.raw(topics.RESULTS, app_id)
                if ("echo", b"1") not in r.headers and r.value not in echoed
            ]
            for record in reversed(fresh):
                echoed.add(record.value)
                for _ in range(2):
                    await publish(settings, topics.RESULTS, app_id, record.value, echoed=True)
            await asyncio.sleep(0.05)

    echo = asyncio.create_task(echo_every_result_twice_in_reverse())
    try:
        progress = await finished(http, app_id)
        undone = len(progress.undone())
        await eventually(lambda: len(echoed) == len(progress.tasks) + undone)
    finally:
        echo.cancel()
    assert progress.status.value == "rejected" and undone == 6
    assert all(t.attempt == 1 for t in progress.tasks)
    assert_undone_newest_first(progress, observer)
    history = await temporal.get_workflow_handle(app_id).fetch_history()
    scheduled = [
        e
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == AWAIT_ANSWER
    ]
    completed = [
        e.activity_task_completed_event_attributes.scheduled_event_id
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
    ]
    assert len(scheduled) == len(progress.tasks) + undone
    answered = [c for c in completed if c in {e.event_id for e in scheduled}]
    assert sorted(answered) == sorted(e.event_id for e in scheduled)  # each exactly once


async def status_of_task(http: httpx.AsyncClient, app_id: str, task_id: str, state: str) -> None:
    async with asyncio.timeout(30):
        while (await progress_of(http, app_id)).task(task_id).state.value != state:
            await asyncio.sleep(0.1)


async def publish(
    settings: Settings, topic: str, app_id: str, value: bytes, echoed: bool = False
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        headers = [("echo", b"1")] if echoed else None
        await producer.send_and_wait(topic, value, key=topics.key(app_id), headers=headers)
    finally:
        await producer.stop()
