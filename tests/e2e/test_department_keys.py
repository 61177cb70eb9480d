"""A department's API key is bound to its department: it gives its own verdicts, answers its
own follow-ups, reads the materials signed for it, and sees only applications with a task of
its own; another application answers as an unknown id would."""

from __future__ import annotations

import uuid

import httpx
import pytest

from events import topics
from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import AMR_KEY, TAX_KEY, Observer
from tests.e2e.helpers import commands, eventually, finished, submit

pytestmark = pytest.mark.stack
AMR = {"X-API-Key": AMR_KEY}
TAX = {"X-API-Key": TAX_KEY}
SLOW = "办理时间长 took too long"


async def opened(http: httpx.AsyncClient, name: str) -> str:
    """An approved enterprise opening: amr registers it (a commitment on its premises, the
    articles uploaded), tax has a task in it too."""
    app_id = await submit(http, example("enterprise_opening", company_name=name))
    ended = await finished(http, app_id)
    assert ended.status.value == "approved", ended.reason
    return app_id


async def test_tax_s_key_cannot_give_amr_s_verdict_on_a_commitment(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await opened(http, "广州部门密钥承诺科技有限公司")
    url = f"/v1/applications/{app_id}/commitments"
    untrue = {"material": "premises_proof", "kept": False, "note": "无此住所"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        as_amr = await api.post(url, json={**untrue, "department": "amr"}, headers=TAX)
        assert as_amr.status_code == 403, as_amr.text
        assert as_amr.json()["detail"] == "the key of tax may not act for amr"
        as_itself = await api.post(url, json=untrue, headers=TAX)  # the key's own: tax
        assert as_itself.status_code == 403, as_itself.text
        assert as_itself.json()["detail"].startswith("tax does not handle")
        recorded = await api.post(url, json=untrue, headers=AMR)
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["department"] == "amr"


async def test_tax_s_key_cannot_answer_amr_s_follow_up(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await opened(http, "广州部门密钥评价科技有限公司")
    poor = {"score": 1, "comment": "等了很久", "reasons": [SLOW]}
    rated = await http.post(
        f"/v1/applications/{app_id}/tasks/business_registration/rating", json=poor
    )
    assert rated.status_code == 201, rated.text

    url = f"/v1/follow-ups/{app_id}/business_registration"
    forged = {"answer": "请拨打 400-000-0000 领取补偿"}
    genuine = {"answer": "已核实：登记窗口增派人手"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        refused = await api.post(url, json=forged, headers=TAX)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "the key of tax may not act for amr"
        answered = await api.post(url, json=genuine, headers=AMR)
        assert answered.status_code == 201, answered.text
        assert answered.json()["answered_by"] == "department-amr"

    def told() -> list[str]:
        return [
            e["data"]["reason"]
            for e in observer.on(topics.STATUS, app_id)
            if e["data"].get("status") == "follow_up_answered"
        ]

    assert await eventually(told) == [genuine["answer"]]  # the applicant hears amr only


async def test_tax_s_key_cannot_read_a_material_through_a_link_signed_for_amr(
    http: httpx.AsyncClient, observer: Observer
) -> None:
    app_id = await opened(http, "广州部门密钥材料科技有限公司")
    articles = commands(observer, app_id)["business_registration"]["materials"]
    link = articles["articles_of_association"]["url"]
    assert "department=amr" in link
    async with httpx.AsyncClient(timeout=10) as department:
        refused = await department.get(link, headers=TAX)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "the key of tax may not act for amr"
        assert (await department.get(link, headers=AMR)).status_code == 200


async def test_a_department_does_not_see_an_application_with_no_task_of_its_own(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await submit(http, example("veteran_discharge"))  # mva, psb, hrss, nhsa
    assert (await finished(http, app_id)).status.value == "approved"
    poor = {"score": 2, "reasons": [SLOW]}
    assert (await http.post(f"/v1/applications/{app_id}/rating", json=poor)).status_code == 201

    unknown = f"ot-{uuid.uuid4().hex}"
    answer = {"answer": "已处理"}
    verdict = {"material": "discharge_certificate", "kept": True}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        for application in (app_id, unknown):  # alike: not even whether it exists
            followed = await api.post(f"/v1/follow-ups/{application}/*", json=answer, headers=AMR)
            assert followed.status_code == 404, followed.text
            assert followed.json()["detail"] == f"no application {application!r}"
            url = f"/v1/applications/{application}/commitments"
            verified = await api.post(url, json=verdict, headers=AMR)
            assert verified.status_code == 404, verified.text
            assert verified.json()["detail"] == f"no application {application!r}"
