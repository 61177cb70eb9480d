"""The whole catalogue through the real stack, and e-licences that later applications reuse."""

from __future__ import annotations

import asyncio
import copy
import random

import httpx
import pytest
from temporalio.client import Client

from infra.settings import Settings
from one_things import Applicant
from one_things.identity import resident_id_check_digit
from orchestrator.cli.demo import example
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for
from tests.conftest import Observer, as_applicant
from tests.e2e.helpers import CATALOGUE, commands, finished, replay_and_record, submit

pytestmark = pytest.mark.stack


def fresh_resident_id() -> str:
    """A valid resident ID number no other test uses."""
    first17 = f"440106198{random.randrange(10**8):08d}"
    return first17 + resident_id_check_digit(first17)


async def test_every_one_thing_of_the_catalogue_completes(http: httpx.AsyncClient) -> None:
    names = [ot.id for ot in CATALOGUE]
    ids = [await submit(http, example(name)) for name in names]
    done = await asyncio.gather(*(finished(http, i, timeout=90) for i in ids))
    for name, progress in zip(names, done, strict=True):
        assert progress.status.value == "approved", (name, progress.reason)
        assert progress.tasks and all(t.state.value == "approved" for t in progress.tasks), name
        planned = {t.task_id for t in progress.tasks} | {s.matter for s in progress.skipped}
        assert planned == {m.id for m in CATALOGUE.get(name).matters}, name
    assert len(names) == 15


async def test_every_department_keeps_one_record_per_command_and_undoes_it(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await submit(
        http,
        example(
            "enterprise_opening",
            company_name="广州晚拒二号科技有限公司",
            bank_branch="横琴已撤销网点",
        ),
    )
    rejected = await finished(http, app_id)
    assert rejected.status.value == "rejected"
    async with httpx.AsyncClient(base_url=settings.simulators_url) as simulators:
        amr = (await simulators.get("/amr/records")).json()["items"]
        hpf = (await simulators.get("/hpf/records")).json()["items"]
    mine = {r["key"]: r for r in amr + hpf if r["key"].startswith(app_id)}
    assert mine[f"{app_id}/business_registration/handle"]["state"] == "deregistered"
    assert mine[f"{app_id}/housing_fund/handle"]["state"] == "closed"
    assert {
        f"{app_id}/business_registration/compensate",
        f"{app_id}/housing_fund/compensate",
    } <= set(mine)


async def test_an_approved_application_issues_e_licences_that_prefill_the_next(
    http: httpx.AsyncClient, observer: Observer, temporal: Client, settings: Settings
) -> None:
    founder = fresh_resident_id()
    opening = example(
        "enterprise_opening", company_name="广州证照科技有限公司", legal_representative_id=founder
    )
    opening["applicant"]["id_number"] = founder
    opened = await finished(http, await submit(http, opening))
    assert opened.status.value == "approved"
    code = opened.task("business_registration").outputs["unified_social_credit_code"]
    company = {
        "name": "广州证照科技有限公司",
        "id_type": "credit_code",
        "id_number": code,
        "representative": {
            "acting_as": "legal_representative",
            "name": "张三",
            "id_number": founder,
        },
    }
    # the licences are the company's: its legal representative reads them, as such
    as_representative = {
        ASSERTION_HEADER: assertion_for(settings, Applicant.model_validate(company), "portal-a")
    }
    held = (await http.get("/v1/licences", headers=as_representative)).json()
    licence = next(lic for lic in held if lic["type"] == "business_licence")
    assert licence["id"] in opened.licences and licence["holder"] == code
    assert licence["issuer"] == "amr" and len(licence["content_hash"]) == 64
    assert licence["data"]["unified_social_credit_code"] == code
    assert {lic["type"] for lic in held} == {"business_licence", "seal_record"}
    assert (await http.get("/v1/licences", headers=as_applicant(settings, founder))).json() == []
    await replay_and_record(temporal, opened.id, "enterprise_opening_issuing_licences")

    change = example("enterprise_change")
    change["applicant"] = company
    del change["form"]["credit_code"], change["form"]["company_name"]
    del change["materials"]["business_licence_original"]  # its e-licence proves it
    response = await http.post("/v1/applications", json=change)
    assert response.status_code == 201, response.text
    assert response.json()["prefilled"] == ["company_name"]
    waived = {m["id"]: m for m in response.json()["materials"]}["business_licence_original"]
    assert (waived["settled"], waived["licence_id"]) == ("waived", licence["id"])
    changed = await finished(http, response.json()["id"])
    assert changed.status.value == "approved"
    sent = commands(observer, changed.id)["change_registration"]
    assert (sent["payload"]["credit_code"], sent["payload"]["company_name"]) == (
        code,
        "广州证照科技有限公司",
    )
    assert sent["materials"]["business_licence_original"]["licence_id"] == licence["id"]


async def test_a_matter_whose_licence_is_held_is_skipped_and_says_so(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    person = fresh_resident_id()
    first = example("disability_services", person_id=person)
    first["applicant"]["id_number"] = person  # the person applies for themself
    issued = await finished(http, await submit(http, first))
    assert issued.status.value == "approved"
    certificate = issued.task("disability_certificate").outputs["disability_certificate_no"]

    second = example("disability_services", person_id=person)
    somebody_else = copy.deepcopy(second)
    second["applicant"]["id_number"] = person
    response = await http.post("/v1/applications", json=second)
    skipped = response.json()["skipped"]
    assert [s["matter"] for s in skipped] == ["disability_certificate"]
    assert skipped[0]["licence_id"] in issued.licences
    assert "already held as e-licence" in skipped[0]["reason"]
    again = await finished(http, response.json()["id"])
    assert again.status.value == "approved"
    assert "disability_certificate" not in {t.task_id for t in again.tasks}
    sent = commands(observer, again.id)["care_subsidy"]["payload"]
    assert sent["disability_certificate_no"] == certificate

    # someone else cannot apply for the person, so reads nothing of the person's e-licences
    other = await http.post("/v1/applications", json=somebody_else)
    assert other.status_code == 422, other.text
    assert [e["loc"][-1] for e in other.json()["errors"]] == ["person_id"]
