"""A person applies for themself, or for whom the identity provider says they act: A cannot
file B's retirement, and the e-licences go to whom the catalogue says they may."""

from __future__ import annotations

import random

import httpx
import pytest

from infra.settings import Settings
from one_things.forms import ActingAs
from orchestrator.cli.demo import example
from orchestrator.intake.identity import ASSERTION_HEADER, issue_assertion
from tests.e2e.helpers import finished
from tests.e2e.test_catalogue import fresh_resident_id

pytestmark = pytest.mark.stack


def retirement_of(retiree: str, filed_by: str) -> dict[str, object]:
    body = example("retirement")
    body["applicant"] = {**body["applicant"], "id_number": filed_by}
    body["form"] = {**body["form"], "retiree_id": retiree}
    return body


async def test_a_person_cannot_file_someone_else_s_retirement(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    a, b = fresh_resident_id(), fresh_resident_id()
    refused = await http.post(
        "/v1/applications",
        json=retirement_of(retiree=b, filed_by=a),
        headers={ASSERTION_HEADER: issue_assertion(settings, a, portal="portal-a")},
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"][-1] == "retiree_id"
    assert "someone the identity provider says they represent" in error["msg"]


async def test_an_agent_the_identity_provider_knows_files_for_their_principal(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    agent, retiree = fresh_resident_id(), fresh_resident_id()
    assertion = issue_assertion(
        settings, agent, portal="portal-a", represents={retiree: ActingAs.AGENT}
    )
    taken = await http.post(
        "/v1/applications",
        json=retirement_of(retiree=retiree, filed_by=agent),
        headers={ASSERTION_HEADER: assertion},
    )
    assert taken.status_code == 201, taken.text
    assert (await finished(http, taken.json()["id"])).status.value == "approved"


async def test_a_passport_and_a_permit_with_the_same_number_read_nothing_of_each_other(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    number = f"H{random.randrange(10**8):08d}"
    permit = {"id_type": "hk_macao_permit", "id_number": number}
    body = example("after_death")  # its death certificate goes to the applicant
    body["applicant"] = {**body["applicant"], **permit}
    filed = await http.post("/v1/applications", json=body)
    assert filed.status_code == 201, filed.text
    assert (await finished(http, filed.json()["id"])).status.value == "approved"

    def asserted(key: str) -> dict[str, str]:
        return {ASSERTION_HEADER: issue_assertion(settings, key, portal="portal-a")}

    for key, sees in ((f"HK_MACAO_PERMIT:{number}", True), (f"PASSPORT:GBR:{number}", False)):
        licences = await http.get("/v1/licences", headers=asserted(key))
        applications = await http.get("/v1/applications", headers=asserted(key))
        assert licences.status_code == applications.status_code == 200
        assert bool(licences.json()) is sees, (key, licences.json())
        listed = [a["id"] for a in applications.json()["items"]]
        assert (filed.json()["id"] in listed) is sees, (key, listed)
