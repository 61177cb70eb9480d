"""End to end through the HTTP API, on the real Temporal server and the real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from events import topics
from infra.settings import Settings
from orchestrator.workflow.models import Progress
from orchestrator.workflow.names import AWAIT_ANSWER
from tests.conftest import Observer
from tests.e2e.helpers import (
    CATALOGUE,
    body,
    bridge_fates,
    commands,
    eventually,
    finished,
    opened,
    ops,
    replay_and_record,
    submit,
)

pytestmark = pytest.mark.stack
HISTORIES = Path(__file__).parent.parent / "replay" / "histories"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def enterprise(http: httpx.AsyncClient) -> Progress:
    return await finished(http, await submit(http, body("enterprise opening")))


async def test_enterprise_opening_is_approved_with_every_output(enterprise: Progress) -> None:
    assert enterprise.status.value == "approved"
    assert enterprise.catalogue_version == CATALOGUE.get("enterprise_opening").version
    for task in enterprise.tasks:
        assert task.state.value == "approved", task
        assert task.attempt == 1
        assert task.outputs and task.dispatched_at and task.completed_at


async def test_independent_tasks_are_dispatched_before_either_completes(
    enterprise: Progress, observer: Observer
) -> None:
    parallel = [t for t in enterprise.tasks if t.depends_on == ["business_registration"]]
    assert len(parallel) >= 5
    first_done = min(t.completed_at for t in parallel if t.completed_at)
    assert all(t.dispatched_at and t.dispatched_at < first_done for t in parallel)
    # the same seen on Kafka: every command was published before the first answer
    await eventually(lambda: len(commands(observer, enterprise.id)) == len(enterprise.tasks))
    answers = [r.timestamp for r in observer.raw(topics.RESULTS, enterprise.id)]
    parallel_ids = {t.task_id for t in parallel}
    published = [
        r.timestamp
        for d in CATALOGUE.departments()
        for r in observer.raw(topics.department_tasks(d), enterprise.id)
        if r.value and any(f'"task_id":"{t}"'.encode() in r.value for t in parallel_ids)
    ]
    registration_answer = min(answers)
    later_answers = sorted(a for a in answers if a > registration_answer)
    assert len(published) == len(parallel)
    assert max(published) <= later_answers[0]


async def test_tax_receives_the_credit_code_that_amr_produced(
    enterprise: Progress, observer: Observer
) -> None:
    code = enterprise.task("business_registration").outputs["unified_social_credit_code"]
    sent = await eventually(lambda: commands(observer, enterprise.id).get("tax_registration"))
    assert sent["payload"]["unified_social_credit_code"] == code
    assert sent["idempotency_key"] == f"{enterprise.id}/tax_registration/handle"


async def test_each_department_sees_only_what_the_catalogue_grants(
    enterprise: Progress, observer: Observer
) -> None:
    one_thing = CATALOGUE.get("enterprise_opening")
    sent = await eventually(
        lambda: (c := commands(observer, enterprise.id)) and len(c) == len(enterprise.tasks) and c
    )
    form = body("enterprise opening")["form"]
    for task_id, command in sent.items():
        matter = one_thing.matter(task_id)
        granted = {f for f in matter.inputs if f in form} | {
            ref.partition(".")[2] for ref in matter.upstream
        }
        assert set(command["payload"]) == granted, task_id
    assert "legal_representative_id" not in sent["social_insurance"]["payload"]


async def test_status_changes_are_published(enterprise: Progress, observer: Observer) -> None:
    def statuses() -> list[str]:
        events = observer.on(topics.STATUS, enterprise.id)
        return [e["data"]["status"] for e in events if "status" in e["data"]]

    assert await eventually(lambda: statuses() == ["running", "approved"])
    states = {
        (e["data"]["task_id"], e["data"]["state"])
        for e in observer.on(topics.STATUS, enterprise.id)
        if "state" in e["data"]
    }
    for task in enterprise.tasks:
        assert {(task.task_id, "dispatched"), (task.task_id, "approved")} <= states


async def test_birth_hands_each_licence_number_to_its_dependants(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    progress = await finished(http, await submit(http, body("birth")))
    assert progress.status.value == "approved"
    certificate = progress.task("birth_medical_certificate").outputs["birth_certificate_no"]
    citizen_id = progress.task("hukou_registration").outputs["citizen_id_number"]
    sent = await eventually(
        lambda: (c := commands(observer, progress.id)) and len(c) == len(progress.tasks) and c
    )
    assert sent["hukou_registration"]["payload"]["birth_certificate_no"] == certificate
    assert sent["maternity_reimbursement"]["payload"]["birth_certificate_no"] == certificate
    assert sent["social_security_card"]["payload"]["citizen_id_number"] == citizen_id
    assert sent["resident_medical_insurance"]["payload"]["citizen_id_number"] == citizen_id


async def test_a_rejection_ends_the_application_with_its_reason(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    progress = await finished(http, await submit(http, body("enterprise opening, refused")))
    assert progress.status.value == "rejected"
    assert progress.reason and "business registration" in progress.reason
    assert "restricted word" in progress.reason
    states = {t.task_id: t.state.value for t in progress.tasks}
    assert states.pop("business_registration") == "rejected"
    assert set(states.values()) == {"cancelled"}
    assert all(t.completed_at for t in progress.tasks)
    assert set(commands(observer, progress.id)) == {"business_registration"}


async def test_a_result_delivered_twice_is_applied_once(
    enterprise: Progress,
    observer: Observer,
    settings: Settings,
    http: httpx.AsyncClient,
    temporal: Client,
) -> None:
    async def counters() -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            metrics = await client.get(f"http://{settings.host}:{settings.bridge_port}/metrics")
            return bridge_fates(metrics.text)

    before = await counters()
    original = observer.raw(topics.RESULTS, enterprise.id)[0]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topics.RESULTS, original.value, key=original.key)
        await producer.send_and_wait(topics.RESULTS, original.value, key=original.key)
    finally:
        await producer.stop()
    async with asyncio.timeout(15):
        while (await counters()).get("stale", 0) < before.get("stale", 0) + 2:
            await asyncio.sleep(0.2)
    history = await temporal.get_workflow_handle(enterprise.id).fetch_history()
    dispatches = {
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == AWAIT_ANSWER
    }
    completed = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in dispatches
    ]
    assert len(completed) == len(enterprise.tasks)
    again = Progress.model_validate((await http.get(f"/v1/applications/{enterprise.id}")).json())
    assert again == enterprise


async def test_a_malformed_result_goes_to_the_dead_letter_topic(
    settings: Settings, observer: Observer
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topics.RESULTS, b'{"not": "a result"}', key=b"ot-broken")
    finally:
        await producer.stop()
    letters = await eventually(
        lambda: [d for d in observer.on(topics.DLQ) if d["topic"] == topics.RESULTS]
    )
    assert "invalid task result" in letters[-1]["reason"]
    assert letters[-1]["original"] != "eyJub3QiOiAiYSByZXN1bHQifQ=="  # sealed: not in clear
    assert opened(settings, letters[-1]) == b'{"not": "a result"}'


@pytest.mark.parametrize(
    ("change", "status", "location"),
    [
        (lambda b: b["form"].pop("company_name"), 422, ["body", "form", "company_name"]),
        (
            lambda b: b["form"].update(favourite_colour="red"),
            422,
            ["body", "form", "favourite_colour"],
        ),
        (
            lambda b: b["form"].update(legal_representative_id="110105199003071230"),
            422,
            ["body", "form", "legal_representative_id"],
        ),
        (lambda b: b["applicant"].update(id_number="123"), 422, ["body", "applicant", "id_number"]),
        (lambda b: b.update(one_thing="marriage"), 404, None),
    ],
)
async def test_bad_input_gets_a_clear_error(
    http: httpx.AsyncClient, change: Any, status: int, location: list[str] | None
) -> None:
    import copy

    payload = copy.deepcopy(body("enterprise opening"))
    change(payload)
    response = await http.post("/v1/applications", json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status and response.json()["title"]
    if location:
        assert location in [e["loc"] for e in response.json()["errors"]]
    else:
        assert "marriage" in response.json()["detail"]


async def test_catalogue_and_unknown_application(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/v1/one-things")).json()
    assert {o["id"] for o in listed} >= {"birth", "enterprise_opening"}
    assert (await http.get(f"/v1/applications/ot-{'0' * 32}")).status_code == 404
    malformed = await http.get("/v1/applications/ot-nope")
    assert malformed.status_code == 422 and "application_id" in malformed.json()["detail"]


async def test_recorded_histories_replay(
    temporal: Client, enterprise: Progress, http: httpx.AsyncClient
) -> None:
    """Histories of this run replay on today's workflow code (determinism)."""
    await replay_and_record(temporal, enterprise.id, "enterprise_opening_approved")
    birth = await finished(http, await submit(http, body("birth")))
    await replay_and_record(temporal, birth.id, "birth_approved")


async def test_a_poison_message_on_every_consumed_topic_is_dead_lettered(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    """Each consumer sends the poison to onething.dlq and goes on with the next message;
    replayed, it goes back with the key and the headers it came with."""
    consumed = [topics.department_tasks(d) for d in CATALOGUE.departments()] + [topics.RESULTS]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        for topic in consumed:
            await producer.send_and_wait(
                topic, b"\x00poison", key=b"ot-poison", headers=[("ce_source", b"/poisoner")]
            )
    finally:
        await producer.stop()
    for label in ("enterprise opening", "birth"):  # every department answers after its poison
        assert (await finished(http, await submit(http, body(label)))).status.value == "approved"
    poisoned = await eventually(
        lambda: (
            {d["topic"] for d in observer.on(topics.DLQ) if opened(settings, d) == b"\x00poison"}
            >= set(consumed)
        )
    )
    assert poisoned
    listing = ops(settings, "dlq", "list")
    assert listing.returncode == 0, listing.stdout
    assert "dept.amr.tasks" in listing.stdout and "invalid task command" in listing.stdout
    letter_id = next(
        f"{r.partition}:{r.offset}"
        for r in observer.records
        if r.topic == topics.DLQ and b'"topic":"dept.tax.tasks"' in r.value
    )
    before = len(observer.raw(topics.department_tasks("tax"), "ot-poison"))
    replayed = ops(settings, "dlq", "replay", letter_id)
    assert replayed.returncode == 0, replayed.stdout
    assert await eventually(lambda: len(observer.raw("dept.tax.tasks", "ot-poison")) == before + 1)
    again = observer.raw("dept.tax.tasks", "ot-poison")[-1]
    assert again.value == b"\x00poison"
    assert list(again.headers) == [("ce_source", b"/poisoner")]


async def test_our_messages_parse_with_the_cloudevents_sdk(
    enterprise: Progress, observer: Observer
) -> None:
    """A department using the CloudEvents SDK (Kafka binding) reads every message we send."""
    # a dead letter is a sealed envelope, not a CloudEvent (its own schema is in the contracts)
    ours = [r for r in observer.records if r.topic != topics.DLQ]
    records = [r for r in ours if r.key == enterprise.id.encode()]
    seen = set()
    for record in records:
        message = kafka.KafkaMessage(
            headers=dict(record.headers), key=record.key, value=record.value
        )
        event = kafka.from_kafka_event(message)
        attributes = event.get_attributes()
        assert attributes["specversion"] == "1.0"
        assert attributes["subject"] == enterprise.id
        assert attributes["partitionkey"] == enterprise.id
        assert event.get_data()["application_id"] == enterprise.id  # type: ignore[index]
        seen.add(attributes["type"])
    assert seen == {
        "org.onething.task.command.v1",
        "org.onething.task.result.v1",
        "org.onething.application.status_changed.v1",
        "org.onething.task.state_changed.v1",
    }
