"""Links and assertions with the least power: a tracking link reads, rates and answers
supplements but never withdraws on its own, and stops once revoked or once its application
ends; an applicant assertion is good for its portal, once, for at most 15 minutes, and rests
on no topic in clear."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
import pytest

from events import topics
from events.contracts import ApplicationRequested
from events.envelope import HEADERS, dumps, wrap
from infra import kafka
from infra.settings import Settings
from one_things import Applicant
from orchestrator.cli.demo import example
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for, issue_assertion
from orchestrator.intake.service import application_id_for
from tests.conftest import (
    OPERATOR_KEY,
    OTHER_PORTAL_KEY,
    PORTAL_REQUEST_KEY,
    Observer,
    portal_signed,
)
from tests.e2e.helpers import (
    eventually,
    finished,
    held_at_real_estate,
    opened,
    ops,
    progress_of,
    sealed,
    submit,
)
from tests.e2e.test_catalogue import fresh_resident_id
from tests.e2e.test_portal import signed

pytestmark = pytest.mark.stack


async def link_for(http: httpx.AsyncClient, app_id: str) -> dict[str, str]:
    """The header the applicant's tracking page sends: a link portal-a gave them."""
    issued = await http.post(f"/v1/applications/{app_id}/tracking-links")
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


def of_the_applicant(settings: Settings, one_thing: str, portal: str = "portal-a") -> str:
    """An assertion of whoever the catalogue's example of `one_thing` is submitted by."""
    applicant = Applicant.model_validate(example(one_thing)["applicant"])
    return assertion_for(settings, applicant, portal)


async def test_a_tracking_link_cannot_withdraw_and_ends_with_its_application(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    async with held_at_real_estate(http, settings) as app_id:
        link = await link_for(http, app_id)
        async with httpx.AsyncClient(base_url=settings.api_url, timeout=10, headers=link) as page:
            assert (await page.get(f"/v1/applications/{app_id}")).status_code == 200
            path = f"/v1/applications/{app_id}/withdraw"
            alone = await page.post(path, json={"reason": "x"})
            assert alone.status_code == 403, alone.text
            assert ASSERTION_HEADER in alone.json()["detail"]
            someone = {
                ASSERTION_HEADER: issue_assertion(settings, fresh_resident_id(), portal="portal-a")
            }
            stranger = await page.post(path, json={"reason": "x"}, headers=someone)
            assert stranger.status_code == 403 and "someone other" in stranger.json()["detail"]
            elsewhere = {
                ASSERTION_HEADER: of_the_applicant(settings, "school_enrolment", "portal-b")
            }
            other_portal = await page.post(path, json={"reason": "x"}, headers=elsewhere)
            assert other_portal.status_code == 401 and "azp" in other_portal.json()["detail"]
            upload = await page.post(
                "/v1/materials", content=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}
            )
            assert upload.status_code == 403  # a link uploads nothing: supplements are fields
            assert (await progress_of(http, app_id)).status.value == "running"

            own = {ASSERTION_HEADER: of_the_applicant(settings, "school_enrolment")}
            withdrawn = await page.post(path, json={"reason": "搬家了"}, headers=own)
            assert withdrawn.status_code == 202, withdrawn.text
    assert (await finished(http, app_id)).status.value == "withdrawn"
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10, headers=link) as page:
        ended = await page.get(f"/v1/applications/{app_id}")
    assert ended.status_code == 410 and "ended (withdrawn)" in ended.json()["detail"]


async def test_a_link_to_an_application_that_ended_reads_nothing(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    done = await finished(http, await submit(http, example("credit_repair")))
    link = await link_for(http, done.id)
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10, headers=link) as page:
        read = await page.get(f"/v1/applications/{done.id}")
        assert read.status_code == 410 and "tracking links no longer work" in read.json()["detail"]
        task = done.tasks[0].task_id
        rated = await page.post(
            f"/v1/applications/{done.id}/tasks/{task}/rating", json={"score": 5}
        )
        assert rated.status_code == 410
    portal_rates = await http.post(f"/v1/applications/{done.id}/rating", json={"score": 5})
    assert portal_rates.status_code == 201, portal_rates.text  # the portal's key still may


async def test_onething_ops_revoke_links_stops_the_links_given_so_far(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    async with held_at_real_estate(http, settings) as app_id:
        given = await link_for(http, app_id)
        async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as page:
            read = f"/v1/applications/{app_id}"
            assert (await page.get(read, headers=given)).status_code == 200
            revoked = await asyncio.to_thread(ops, settings, "revoke-links", app_id)
            assert revoked.returncode == 0, revoked.stdout + revoked.stderr
            refused = await page.get(read, headers=given)
            assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
            again = await link_for(http, app_id)  # the portal gives the applicant a new one
            assert (await page.get(read, headers=again)).status_code == 200
        trail = await http.get(
            f"/v1/applications/{app_id}/audit", headers={"X-API-Key": OPERATOR_KEY}
        )
        assert {"action": "revoke-links"} in [e["detail"] for e in trail.json()["entries"]]
        unknown = await asyncio.to_thread(ops, settings, "revoke-links", "not-an-id")
        assert unknown.returncode == 1


async def test_an_assertion_is_good_for_its_portal_once_and_briefly(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    person = fresh_resident_id()
    for_a = {ASSERTION_HEADER: issue_assertion(settings, person, portal="portal-a")}
    async with httpx.AsyncClient(
        base_url=settings.api_url, timeout=10, headers={"X-API-Key": OTHER_PORTAL_KEY}
    ) as portal_b:
        lifted = await portal_b.get("/v1/licences", headers=for_a)
    assert lifted.status_code == 401
    assert "issued for 'portal-a', not for 'portal-b' (azp)" in lifted.json()["detail"]
    assert (await http.get("/v1/licences", headers=for_a)).status_code == 200
    replayed = await http.get("/v1/licences", headers=for_a)
    assert replayed.status_code == 401 and "jti was used before" in replayed.json()["detail"]
    lasting = {ASSERTION_HEADER: issue_assertion(settings, person, portal="portal-a", minutes=16)}
    too_long = await http.get("/v1/licences", headers=lasting)
    assert too_long.status_code == 401 and "longer than 15 minutes" in too_long.json()["detail"]

    # a submission retried with its Idempotency-Key is no second use; another request is
    body = example("credit_repair")
    once = {ASSERTION_HEADER: of_the_applicant(settings, "credit_repair")}
    key = {"Idempotency-Key": f"links-{uuid.uuid4()}"}
    first = await http.post("/v1/applications", json=body, headers={**once, **key})
    assert first.status_code == 201, first.text
    retried = await http.post("/v1/applications", json=body, headers={**once, **key})
    assert retried.status_code == 200 and retried.json()["id"] == first.json()["id"]
    other = {"Idempotency-Key": f"links-{uuid.uuid4()}"}
    reused = await http.post("/v1/applications", json=body, headers={**once, **other})
    assert reused.status_code == 401 and "jti" in reused.json()["detail"]


async def test_the_applications_topic_carries_no_assertion_in_clear(
    http: httpx.AsyncClient, settings: Settings, observer: Observer
) -> None:
    source, body = "portal-a", example("veteran_discharge")
    clear_id, sealed_id = f"req-{uuid.uuid4().hex}", f"req-{uuid.uuid4().hex}"
    in_clear = in_clear_request(clear_id, body, of_the_applicant(settings, "veteran_discharge"))
    request = ApplicationRequested(
        request_id=sealed_id, sealed_assertion=await sealed(http, settings, body), **body
    )
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for request_id, raw in (
            (clear_id, in_clear),
            (sealed_id, dumps(wrap(signed(request, source, PORTAL_REQUEST_KEY), source=source))),
        ):
            await producer.send(topics.APPLICATIONS, raw, key=request_id.encode(), headers=HEADERS)
    finally:
        await producer.stop()
    taken = application_id_for(f"{source}/{sealed_id}")
    await eventually(lambda: observer.on(topics.STATUS, taken), timeout=20)  # taken in
    assert (await finished(http, taken)).status.value == "approved"

    def refused() -> list[dict[str, Any]]:
        return [
            letter
            for letter in observer.on(topics.DLQ)
            if letter["topic"] == topics.APPLICATIONS
            and clear_id.encode() in opened(settings, letter)
        ]

    [letter] = await eventually(refused)
    assert "applicant_assertion" in letter["reason"]
    clear_app = application_id_for(f"{source}/{clear_id}")
    assert (await http.get(f"/v1/applications/{clear_app}")).status_code == 404


def in_clear_request(request_id: str, body: dict[str, Any], assertion: str) -> bytes:
    """An application request as portals sent them before: the assertion itself in its data,
    signed by portal-a."""
    event = orjson.loads(
        dumps(wrap(ApplicationRequested(request_id=request_id, **body), source="portal-a"))
    )
    data = {k: v for k, v in event["data"].items() if k != "sealed_assertion"}
    data["applicant_assertion"] = assertion
    return orjson.dumps({**event, "data": portal_signed(data, "portal-a", PORTAL_REQUEST_KEY)})
