"""Applicants are authenticated by the portal's identity provider and see only their own data:
e-licences, prefill and listings answer for the asserted person; tracking links for one
application."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from infra.settings import Settings
from one_things import Applicant
from orchestrator.api.tracking import TrackingLinks
from orchestrator.cli.demo import example
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for
from tests.conftest import OTHER_PORTAL_KEY, as_applicant
from tests.e2e.helpers import finished, held_at_real_estate, progress_of, submit
from tests.e2e.test_catalogue import fresh_resident_id

pytestmark = pytest.mark.stack


async def test_a_portal_reads_and_prefills_only_for_the_person_it_authenticated(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    founder, stranger = fresh_resident_id(), fresh_resident_id()
    opening = example("enterprise_opening", company_name="广州隐私科技有限公司")
    opening["applicant"]["id_number"] = founder
    opening["form"]["legal_representative_id"] = founder
    opened = await finished(http, await submit(http, opening))
    assert opened.status.value == "approved"
    code = opened.task("business_registration").outputs["unified_social_credit_code"]
    lawful = {"acting_as": "legal_representative", "name": "张三", "id_number": founder}
    company = {"name": "广州隐私科技有限公司", "id_type": "credit_code", "id_number": code}
    change = example("enterprise_change")
    change["applicant"] = {**company, "representative": lawful}
    del change["form"]["credit_code"], change["form"]["company_name"]
    as_representative = {
        ASSERTION_HEADER: assertion_for(
            settings, Applicant.model_validate(change["applicant"]), "portal-b"
        )
    }

    async with httpx.AsyncClient(
        base_url=settings.api_url, timeout=10, headers={"X-API-Key": OTHER_PORTAL_KEY}
    ) as portal_b:
        # no assertion, or one for someone else: nothing read, nothing prefilled, nothing started
        unvouched = await portal_b.get("/v1/licences")
        assert unvouched.status_code == 401 and ASSERTION_HEADER in unvouched.json()["detail"]
        theirs = await portal_b.get(
            "/v1/licences", headers=as_applicant(settings, stranger, "portal-b")
        )
        assert theirs.status_code == 200 and theirs.json() == []
        for headers in (
            {},
            as_applicant(settings, stranger, "portal-b"),
            as_applicant(settings, founder, "portal-b"),
        ):
            refused = await portal_b.post("/v1/applications", json=change, headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        forged = as_applicant(settings, founder, "portal-b")[ASSERTION_HEADER][:-4] + "AAAA"
        refused = await portal_b.get("/v1/licences", headers={ASSERTION_HEADER: forged})
        assert refused.status_code == 401 and "signature" in refused.json()["detail"].lower()
        # the stranger calling themself the company's legal representative: not so vouched
        pretending = {**company, "representative": {**lawful, "id_number": stranger}}
        refused = await portal_b.post(
            "/v1/applications",
            json={**change, "applicant": pretending},
            headers=as_applicant(settings, stranger, "portal-b"),
        )
        assert refused.status_code == 401, refused.text
        assert "legal_representative" in refused.json()["detail"]
        # the stranger, as themself: an enterprise change is an enterprise's application
        as_stranger = {**change, "applicant": {"name": "路人", "id_number": stranger}}
        mine = await portal_b.post(
            "/v1/applications",
            json=as_stranger,
            headers=as_applicant(settings, stranger, "portal-b"),
        )
        assert mine.status_code == 422, mine.text
        assert "from enterprise applicants only, not from a person" in mine.text
        # the founder, vouched as the company's legal representative: the company's licences
        own = await portal_b.get("/v1/licences", headers=as_representative)
        assert {lic["type"] for lic in own.json()} == {"business_licence", "seal_record"}
        alone = await portal_b.get(
            "/v1/licences", headers=as_applicant(settings, founder, "portal-b")
        )
        assert alone.json() == []

    listed = await http.get("/v1/applications", headers=as_applicant(settings, founder))
    assert [a["one_thing"] for a in listed.json()["items"]] == ["enterprise_opening"]
    assert (await http.get("/v1/applications")).status_code == 401  # whose? no one's


async def test_a_tracking_link_reads_its_application_only_and_expires(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    other = await submit(http, example("credit_repair"))
    async with held_at_real_estate(http, settings) as mine:
        issued = await http.post(f"/v1/applications/{mine}/tracking-links")
        assert issued.status_code == 201, issued.text
        link = issued.json()
        assert link["url"].endswith(f"/track/{mine}#t={link['token']}")
        bearer = {"Authorization": f"Bearer {link['token']}"}
        async with httpx.AsyncClient(base_url=settings.api_url, timeout=10, headers=bearer) as page:
            assert (await page.get(f"/v1/applications/{mine}")).json()["id"] == mine
            assert (await page.get(f"/v1/applications/{other}")).status_code == 404

            async def hukou_checked() -> bool:
                progress = await progress_of(http, mine)
                return progress.task("hukou_check").state.value == "approved"

            async with asyncio.timeout(15):
                while not await hukou_checked():
                    await asyncio.sleep(0.1)
            rated = await page.post(
                f"/v1/applications/{mine}/tasks/hukou_check/rating", json={"score": 5}
            )
            assert rated.status_code == 201, rated.text  # an ended task, while the rest runs
            withdraw = await page.post(f"/v1/applications/{mine}/withdraw", json={"reason": "x"})
            assert withdraw.status_code == 403  # not on its own: the applicant's assertion
            elsewhere = await page.post(f"/v1/applications/{other}/withdraw", json={"reason": "x"})
            assert elsewhere.status_code == 404
            assert (await page.get("/v1/applications")).status_code == 403
            assert (await page.post(f"/v1/applications/{other}/tracking-links")).status_code == 403
        as_b = {"X-API-Key": OTHER_PORTAL_KEY}
        hidden = await http.post(f"/v1/applications/{mine}/tracking-links", headers=as_b)
        assert hidden.status_code == 404  # portal B never submitted it

    brief = TrackingLinks(settings.model_copy(update={"tracking_link_days": 1 / 86400}))
    expiring = brief.issue(mine, "portal-a", settings.api_url).token
    await asyncio.sleep(2)
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as page:
        expired = await page.get(
            f"/v1/applications/{mine}", headers={"Authorization": f"Bearer {expiring}"}
        )
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
