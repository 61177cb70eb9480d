"""What the portal relies on: idempotent submission, forms as JSON Schema, problem details."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import jsonschema
import pytest
from temporalio.client import Client

from events import topics
from events.contracts import ApplicationRequested
from events.envelope import HEADERS, dumps, wrap
from infra import kafka
from infra.settings import Settings
from orchestrator.cli.demo import example
from orchestrator.intake.service import application_id_for
from tests.conftest import OPERATOR_KEY, PORTAL_REQUEST_KEY, Observer, portal_signed
from tests.e2e.helpers import (
    CATALOGUE,
    eventually,
    finished,
    held_at_real_estate,
    progress_of,
    sealed,
    status_becomes,
    submit,
)

pytestmark = pytest.mark.stack


def signed(request: ApplicationRequested, source: str, key: str) -> ApplicationRequested:
    """The request as a portal sends it: signed with its request key."""
    return ApplicationRequested.model_validate(
        portal_signed(request.model_dump(mode="json"), source, key)
    )


async def test_the_same_idempotency_key_and_body_start_one_application(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    key = {"Idempotency-Key": f"portal-{uuid.uuid4()}"}
    body = example("retirement")
    first, second = await asyncio.gather(
        http.post("/v1/applications", json=body, headers=key),
        http.post("/v1/applications", json=body, headers=key),
    )
    assert sorted((first.status_code, second.status_code)) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    assert {first.json()["replayed"], second.json()["replayed"]} == {False, True}
    again = await http.post("/v1/applications", json=body, headers=key)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    app_id = first.json()["id"]
    runs = [w async for w in temporal.list_workflows(f"WorkflowId = '{app_id}'")]
    assert len(runs) == 1

    other = await http.post(
        "/v1/applications", json=example("retirement", retirement_date="2027-01-01"), headers=key
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["detail"]


async def test_each_form_is_served_as_json_schema(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/v1/one-things")).json()
    for one_thing in listed:
        detail = (await http.get(f"/v1/one-things/{one_thing['id']}")).json()
        schema = (await http.get(f"/v1/one-things/{one_thing['id']}/form")).json()
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(detail["example"]["form"], schema)
    birth = (await http.get("/v1/one-things/birth/form")).json()
    assert birth["properties"]["mother_id"]["x-pii"] is True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example("birth")["form"], "mother_id": "12"}, birth)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example("birth")["form"], "pet": "cat"}, birth)
    change = (await http.get("/v1/one-things/enterprise_change/form")).json()
    assert change["properties"]["company_name"]["x-prefill"] == "business_licence.company_name"
    assert change["properties"]["credit_code"]["x-party"] == "applicant"
    retirement = (await http.get("/v1/one-things/retirement/form")).json()
    assert retirement["properties"]["retiree_id"]["x-party"] == "represented"
    shown = (await http.get("/v1/one-things/enterprise_change")).json()
    assert shown["applicants"] == ["enterprise"]
    assert {"id": "business_licence_original", "proven_by": "business_licence"}.items() <= (
        shown["materials"][0].items()
    )
    missing = await http.get("/v1/one-things/marriage/form")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")


async def test_the_openapi_document_describes_the_api(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert {"/v1/applications", "/v1/one-things/{name}/form", "/v1/licences"} <= set(
        document["paths"]
    )
    parameters = document["paths"]["/v1/applications"]["post"]["parameters"]
    assert "idempotency-key" in {p["name"].lower() for p in parameters}


async def test_an_application_on_the_topic_starts_once_and_a_bad_one_is_dead_lettered(
    http: httpx.AsyncClient, settings: Settings, temporal: Client, observer: Observer
) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    body = example("veteran_discharge")
    source = "portal-a"  # a portal names itself as its API key is named
    request = signed(
        ApplicationRequested(
            request_id=request_id, sealed_assertion=await sealed(http, settings, body), **body
        ),
        source,
        PORTAL_REQUEST_KEY,
    )
    bad_form = signed(
        ApplicationRequested(
            request_id=f"req-{uuid.uuid4().hex}",
            sealed_assertion=await sealed(http, settings, body),
            **{**body, "form": {"veteran_name": "马军"}},
        ),
        source,
        PORTAL_REQUEST_KEY,
    )
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for raw in (
            dumps(wrap(request, source=source)),
            dumps(wrap(request, source=source)),
            b"{not json",
            dumps(wrap(bad_form, source=source)),
        ):
            await producer.send(topics.APPLICATIONS, raw, key=request_id.encode(), headers=HEADERS)
    finally:
        await producer.stop()
    app_id = application_id_for(f"{source}/{request_id}")
    async with asyncio.timeout(20):  # taken in from the topic, not at once
        while (await http.get(f"/v1/applications/{app_id}")).status_code == 404:
            await asyncio.sleep(0.2)
    progress = await finished(http, app_id)
    assert progress.status.value == "approved" and progress.one_thing == "veteran_discharge"
    runs = [w async for w in temporal.list_workflows(f"WorkflowId = '{app_id}'")]
    assert len(runs) == 1

    def letters() -> list[dict[str, str]]:
        return [e for e in observer.on(topics.DLQ) if e["topic"] == topics.APPLICATIONS]

    found = await eventually(lambda: len(letters()) >= 2 and letters())
    reasons = " ".join(letter["reason"] for letter in found)
    assert "invalid application request" in reasons and "invalid form" in reasons


async def test_each_task_is_tracked_on_a_timeline_and_every_field_sent_is_in_the_access_log(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    app_id = await submit(http, example("enterprise_opening", payroll_certificate_ref=None))
    running = await progress_of(http, app_id)
    registration = running.task("business_registration")
    assert registration.time_limit_seconds == 3  # the tests cap every time limit at 3 s
    if registration.state.value == "dispatched":
        assert registration.deadline is not None and registration.time_left_seconds is not None
        assert 0 < registration.time_left_seconds <= 3
    await status_becomes(http, app_id, "awaiting_supplement")
    supplement = {"task_id": "social_insurance", "fields": {"payroll_certificate_ref": "GZ-1"}}
    assert (await http.post(f"/v1/applications/{app_id}/supplements", json=supplement)).is_success
    done = await finished(http, app_id)
    assert [e.state.value for e in done.task("business_registration").timeline] == [
        "dispatched",
        "approved",
    ]
    steps = done.task("social_insurance").timeline
    assert [(e.state.value, e.attempt) for e in steps] == [
        ("dispatched", 1),
        ("awaiting_supplement", 1),
        ("dispatched", 2),
        ("approved", 2),
    ]
    assert steps[1].detail and "payroll" in steps[1].detail
    assert "payroll_certificate_ref" in (steps[2].fields or [])
    assert all(t.deadline is None and t.time_left_seconds is None for t in done.tasks)

    log = [
        a
        for a in (await http.get(f"/v1/applications/{app_id}/access-log")).json()
        if a["kind"] == "dispatch"
    ]
    seen = {(a["department"], a["attempt"], tuple(a["fields"])) for a in log}
    sent = {
        (e["data"]["department"], e["data"]["attempt"], tuple(sorted(e["data"]["payload"])))
        for department in CATALOGUE.departments()
        for e in observer.on(topics.department_tasks(department), app_id)
    }
    assert seen == sent and len(log) == 8
    assert [a["at"] for a in log] == sorted(a["at"] for a in log)


async def test_each_ended_task_is_rated_once_and_a_poor_rating_is_followed_up(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    async with held_at_real_estate(http, settings) as waiting:
        early = await http.post(
            f"/v1/applications/{waiting}/tasks/housing_check/rating", json={"score": 5}
        )
        assert early.status_code == 409 and "once ended" in early.json()["detail"]

    app_id = (await finished(http, await submit(http, example("retirement")))).id
    url = f"/v1/applications/{app_id}/tasks/{{}}/rating"
    assert (await http.post(url.format("pension_claim"), json={"score": 5})).status_code == 201
    twice = await http.post(url.format("pension_claim"), json={"score": 4})
    assert twice.status_code == 409 and "rated already" in twice.json()["detail"]
    assert (await http.post(url.format("nope"), json={"score": 3})).status_code == 404
    assert (
        await http.post(url.format("housing_fund_withdrawal"), json={"score": 6})
    ).status_code == 422
    poor = {
        "score": 1,
        "comment": "材料要求反复变化 asked for papers again and again",
        "reasons": ["材料重复提交 documents asked for again"],
    }
    assert (await http.post(url.format("retiree_medical_insurance"), json=poor)).status_code == 201

    def follow_up() -> list[dict[str, object]]:
        return [
            e["data"]
            for e in observer.on(topics.STATUS, app_id)
            if e["type"] == "org.onething.rating.poor.v1"
        ]

    [event] = await eventually(follow_up)
    assert event["task_id"] == "retiree_medical_insurance" and event["score"] == 1
    as_operator = {"X-API-Key": OPERATOR_KEY}
    rated = await http.get("/v1/ratings", headers=as_operator)
    summary = {(r["department"], r["matter"]): r for r in rated.json()}
    assert summary[("hrss", "pension_claim")] == {
        "department": "hrss",
        "matter": "pension_claim",
        "count": 1,
        "mean": 5.0,
        "poor_share": 0.0,
        "follow_ups": {},
    }
    assert summary[("nhsa", "retiree_medical_insurance")]["poor_share"] == 1.0
