"""Materials (uploads, 免提交, 容缺受理, 告知承诺), and an enterprise applying through an agent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from events import topics
from infra.settings import Settings
from one_things import Applicant
from one_things.materials import sample_material
from orchestrator.cli.demo import example
from orchestrator.intake.identity import ASSERTION_HEADER, assertion_for, issue_assertion
from tests.conftest import AMR_KEY, OPERATOR_KEY, Observer
from tests.e2e.helpers import (
    commands,
    eventually,
    finished,
    ops,
    progress_of,
    submit,
    undo_commands,
)
from tests.e2e.test_catalogue import fresh_resident_id

pytestmark = pytest.mark.stack
PDF = {"Content-Type": "application/pdf"}


async def upload(http: httpx.AsyncClient, content: bytes) -> str:
    response = await http.post("/v1/materials", content=content, headers=PDF)
    assert response.status_code == 201, response.text
    return str(response.json()["sha256"])


async def opened_company(http: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """A company opened by a fresh founder: (its credit code, the founder's ID number)."""
    founder = fresh_resident_id()
    opening = example("enterprise_opening", company_name=name, legal_representative_id=founder)
    opening["applicant"]["id_number"] = founder
    opened = await finished(http, await submit(http, opening))
    assert opened.status.value == "approved", opened.reason
    return opened.task("business_registration").outputs["unified_social_credit_code"], founder


async def test_an_enterprise_applies_for_a_change_through_an_agent(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    code, _ = await opened_company(http, "广州代办科技有限公司")
    agent = fresh_resident_id()
    power_of_attorney = await upload(
        http, "%PDF-1.4\n% 授权委托书 power of attorney\n%%EOF\n".encode()
    )
    change = example("enterprise_change")
    change["applicant"] = {
        "name": "广州代办科技有限公司",
        "id_type": "credit_code",
        "id_number": code,
        "representative": {
            "acting_as": "agent",
            "name": "李四",
            "id_number": agent,
            "power_of_attorney": power_of_attorney,
        },
    }
    del change["form"]["credit_code"], change["form"]["company_name"]
    del change["materials"]["business_licence_original"]  # the company's e-licence proves it

    # the agent, unless the identity provider knows them as the company's agent: refused
    plain = {ASSERTION_HEADER: issue_assertion(settings, agent, portal="portal-a")}
    refused = await http.post("/v1/applications", json=change, headers=plain)
    assert refused.status_code == 401 and "agent" in refused.json()["detail"]

    def as_agent() -> dict[str, str]:  # an assertion is good once
        agency = Applicant.model_validate(change["applicant"])
        return {ASSERTION_HEADER: assertion_for(settings, agency, "portal-a")}

    response = await http.post("/v1/applications", json=change, headers=as_agent())
    assert response.status_code == 201, response.text
    settled = {m["id"]: m["settled"] for m in response.json()["materials"]}
    assert settled == {"business_licence_original": "waived", "change_resolution": "provided"}
    changed = await finished(http, response.json()["id"])
    assert changed.status.value == "approved", changed.reason

    sent = commands(observer, changed.id)["change_registration"]
    assert sent["payload"]["credit_code"] == code
    resolution = sent["materials"]["change_resolution"]
    assert resolution["settled"] == "provided" and set(sent["materials"]) == set(settled)
    async with httpx.AsyncClient(timeout=10) as department:
        fetched = await department.get(resolution["url"], headers={"X-API-Key": AMR_KEY})
        assert fetched.status_code == 200
        assert fetched.content == sample_material("enterprise_change", "change_resolution")
        forged = resolution["url"].replace("department=amr", "department=tax")
        refused = await department.get(forged, headers={"X-API-Key": AMR_KEY})
        assert refused.status_code == 403 and "signature" in refused.json()["detail"]
        assert (await department.get(resolution["url"])).status_code == 401  # no key, no read

    # the new business licence is the company's, and its agent reads it as such
    held = (await http.get("/v1/licences", headers=as_agent())).json()
    reissued = [lic for lic in held if lic["application_id"] == changed.id]
    assert [(lic["type"], lic["holder"]) for lic in reissued] == [("business_licence", code)]
    listed = (await http.get("/v1/applications", headers=as_agent())).json()["items"]
    assert changed.id in {a["id"] for a in listed}

    # every read of the company's data is in its access log: who, what, why
    operator = {"X-API-Key": OPERATOR_KEY}
    assert (await http.get(f"/v1/applications/{changed.id}", headers=operator)).is_success
    assert ops(settings, "show", changed.id).returncode == 0
    log = (await http.get(f"/v1/applications/{changed.id}/access-log")).json()
    reads = [(a["who"], a["what"], a["why"]) for a in log if a["kind"] == "read"]
    assert reads == [
        ("portal-a", "e-licences business_licence", "prefill company_name, a material waived"),
        ("amr", "material change_resolution", "its link"),
        ("operator", "progress", "operator"),
        ("operator", "history", "ops show"),
    ]
    dispatched = {a["who"] for a in log if a["kind"] == "dispatch"}
    assert {"amr", "tax", "hrss", "hpf", "nhsa", "bank", "psb"} <= dispatched


async def test_materials_are_checked_at_submission(http: httpx.AsyncClient) -> None:
    opening = example("enterprise_opening")

    async def refused(materials: dict[str, str]) -> dict[str, str]:
        response = await http.post("/v1/applications", json={**opening, "materials": materials})
        assert response.status_code == 422, response.text
        return {".".join(str(p) for p in e["loc"][2:]): e["msg"] for e in response.json()["errors"]}

    assert await refused({"premises_proof": "commitment"}) == {
        "articles_of_association": "公司章程 articles of association is needed"
    }
    said = await refused(
        {"articles_of_association": "0" * 64, "premises_proof": "promise", "seal_design": "promise"}
    )
    assert said == {
        "articles_of_association": "no such upload",
        "premises_proof": "住所使用证明 proof of the registered premises cannot be promised "
        "(no 容缺 for it)",
        "seal_design": "enterprise_opening has no such material",
    }
    wrong = await http.post(
        "/v1/materials", content=b"GIF89a", headers={"Content-Type": "image/gif"}
    )
    assert wrong.status_code == 415


async def test_a_promised_material_not_supplied_in_time_rejects_the_opening_and_undoes_it(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    opening = example("enterprise_opening", company_name="广州容缺逾期科技有限公司")
    opening["materials"]["articles_of_association"] = "promise"  # 容缺受理: due in 3 s here
    response = await http.post("/v1/applications", json=opening)
    assert response.status_code == 201, response.text
    app_id = response.json()["id"]
    promised = {m["id"]: m for m in response.json()["materials"]}["articles_of_association"]
    assert promised["settled"] == "promised" and promised["due"]
    first = await eventually(lambda: commands(observer, app_id).get("business_registration"))
    assert first["materials"]["articles_of_association"]["settled"] == "promised"

    ended = await finished(http, app_id)
    late = await upload(http, b"%PDF-1.4\n% articles, late\n%%EOF\n")
    supplied = await http.post(
        f"/v1/applications/{app_id}/materials",
        json={"material": "articles_of_association", "sha256": late},
    )
    assert supplied.status_code == 409, supplied.text
    assert ended.status.value == "rejected"
    assert "公司章程 articles of association not supplied by" in (ended.reason or "")
    lapsed = {m.id: m.settled.value for m in ended.materials}
    assert lapsed["articles_of_association"] == "lapsed"
    undone = {c["task_id"] for _, c in undo_commands(observer, app_id)}
    assert "business_registration" in undone
    assert ended.task("business_registration").state.value == "compensated"


async def test_a_promised_material_supplied_in_time_is_reminded_and_lets_it_finish(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    opening = example("enterprise_opening", company_name="广州容缺补齐科技有限公司")
    opening["materials"]["articles_of_association"] = "promise"
    app_id = await submit(http, opening)

    def reminded() -> list[dict[str, Any]]:
        return [
            e["data"]
            for e in observer.on(topics.STATUS, app_id)
            if (e["data"].get("reason") or "").startswith("reminder: 公司章程")
        ]

    await eventually(reminded, timeout=3)  # half way to the due time
    articles = await upload(http, b"%PDF-1.4\n% articles, in time\n%%EOF\n")
    supplied = await http.post(
        f"/v1/applications/{app_id}/materials",
        json={"material": "articles_of_association", "sha256": articles},
    )
    assert supplied.status_code == 202, supplied.text
    again = await http.post(
        f"/v1/applications/{app_id}/materials",
        json={"material": "articles_of_association", "sha256": articles},
    )
    assert again.status_code == 409  # supplied once
    ended = await finished(http, app_id)
    assert ended.status.value == "approved", ended.reason
    provided = {m.id: m for m in ended.materials}["articles_of_association"]
    assert (provided.settled.value, provided.sha256) == ("provided", articles)
    assert len(reminded()) == 1


async def test_a_lapsed_promise_of_an_optional_matter_undoes_that_matter_alone(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    birth = example("birth", baby_name="容缺宝")
    birth["materials"] = {"medical_invoices": "promise"}
    ended = await finished(http, await submit(http, birth))
    assert ended.status.value == "partially_approved", ended.reason
    assert "生育医疗费用报销" in (ended.reason or "") and "not supplied by" in (ended.reason or "")
    reimbursement = ended.task("maternity_reimbursement")
    assert reimbursement.state.value == "compensated"
    assert ended.task("birth_medical_certificate").state.value == "approved"
    assert len(ended.started) == 1  # the childcare subsidy still starts
    undone = [c["task_id"] for _, c in undo_commands(observer, ended.id)]
    assert undone == ["maternity_reimbursement"]
    assert (await progress_of(http, ended.started[0])).one_thing == "childcare_subsidy"


async def test_a_commitment_is_verified_afterwards_and_a_false_one_recorded(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await submit(http, example("enterprise_opening", company_name="广州承诺科技有限公司"))
    sent = await eventually(lambda: commands(observer, app_id).get("business_registration"))
    assert sent["materials"]["premises_proof"] == {
        "title": "住所使用证明 proof of the registered premises",
        "settled": "committed",
        "sha256": None,
        "url": None,
        "licence_id": None,
        "due": None,
    }
    assert (await finished(http, app_id)).status.value == "approved"
    untrue = {"material": "premises_proof", "department": "amr", "kept": False, "note": "无此住所"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        department = {"X-API-Key": AMR_KEY}
        url = f"/v1/applications/{app_id}/commitments"
        elsewhere = await api.post(url, json={**untrue, "department": "tax"}, headers=department)
        assert elsewhere.status_code == 403
        assert (await api.post(url, json=untrue)).status_code == 401
        recorded = await api.post(url, json=untrue, headers=department)
        assert recorded.status_code == 201, recorded.text
        assert (await api.post(url, json=untrue, headers=department)).status_code == 409
        listed = await api.get("/v1/commitments", headers={"X-API-Key": OPERATOR_KEY})
        mine = [c for c in listed.json() if c["application_id"] == app_id]
        assert [(c["material"], c["kept"], c["note"]) for c in mine] == [
            ("premises_proof", False, "无此住所")
        ]
        assert len(mine[0]["applicant_ref"]) == 32  # a pseudonym, never the ID number
    # the approval stands: revoking it is the department's own act, the record says why
    assert (await progress_of(http, app_id)).status.value == "approved"


async def test_a_commitment_found_untrue_while_it_runs_rejects_the_application(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    opening = example("enterprise_opening", company_name="广州虚假承诺科技有限公司")
    opening["materials"]["articles_of_association"] = "promise"  # holds it open for 3 s
    app_id = await submit(http, opening)
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        found = await api.post(
            f"/v1/applications/{app_id}/commitments",
            json={"material": "premises_proof", "department": "amr", "kept": False},
            headers={"X-API-Key": AMR_KEY},
        )
        assert found.status_code == 201, found.text
    ended = await finished(http, app_id)
    assert ended.status.value == "rejected"
    assert "commitment on 住所使用证明 proof of the registered premises was found untrue" in (
        ended.reason or ""
    )
    assert {m.id: m.settled.value for m in ended.materials}["premises_proof"] == "broken"
