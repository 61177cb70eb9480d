"""免申即享: a completed birth starts the childcare subsidy by itself, exactly once."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import Observer, as_applicant
from tests.e2e.helpers import commands, finished, replay_and_record, submit
from tests.e2e.test_catalogue import fresh_resident_id

pytestmark = pytest.mark.stack


async def test_a_birth_starts_the_childcare_subsidy_once_and_the_applicant_sees_it(
    http: httpx.AsyncClient, observer: Observer, temporal: Client, settings: Settings
) -> None:
    mother = fresh_resident_id()
    birth = example("birth", mother_id=mother)
    birth["applicant"]["id_number"] = mother
    born = await finished(http, await submit(http, birth))
    assert born.status.value == "approved"
    [subsidy_id] = born.started
    subsidy = await finished(http, subsidy_id)
    assert subsidy.one_thing == "childcare_subsidy" and subsidy.status.value == "approved"
    sent = commands(observer, subsidy_id)["childcare_subsidy"]["payload"]
    assert sent["child_id"] == born.task("hukou_registration").outputs["citizen_id_number"]
    assert sent["guardian_id"] == mother

    listed = (await http.get("/v1/applications", headers=as_applicant(settings, mother))).json()
    assert {a["id"]: a["one_thing"] for a in listed["items"]} == {  # one subsidy, no second
        born.id: "birth",
        subsidy_id: "childcare_subsidy",
    }
    await replay_and_record(temporal, born.id, "birth_starting_childcare_subsidy")
