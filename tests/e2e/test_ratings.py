"""Ratings as the national scheme has them: the whole application rated too (一事一评), a poor
rating says why and opens a follow-up the department answers in time, or operators see it
overdue; the answer is told to the applicant."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from events import topics
from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import MVA_KEY, OPERATOR_KEY, Observer
from tests.e2e.helpers import eventually, finished, ops, submit

pytestmark = pytest.mark.stack
SLOW = "办理时间长 took too long"


async def test_a_poor_rating_is_followed_up_overdue_then_answered_and_the_applicant_told(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await submit(http, example("veteran_discharge"))
    early = await http.post(f"/v1/applications/{app_id}/rating", json={"score": 5})
    assert early.status_code == 409 and "once ended" in early.json()["detail"]
    assert (await finished(http, app_id)).status.value == "approved"

    whole = f"/v1/applications/{app_id}/rating"
    unexplained = await http.post(whole, json={"score": 2})
    assert unexplained.status_code == 422 and "reasons" in unexplained.text
    poor = {"score": 2, "comment": "等了很久", "reasons": [SLOW]}
    assert (await http.post(whole, json=poor)).status_code == 201
    assert (await http.post(whole, json=poor)).status_code == 409  # once
    task = f"/v1/applications/{app_id}/tasks/hukou_restore/rating"
    assert (await http.post(task, json={"score": 4})).status_code == 201

    operator = {"X-API-Key": OPERATOR_KEY}
    await asyncio.sleep(3.2)  # the follow-up's time (capped at 3 s here) runs out
    overdue = await http.get("/v1/follow-ups", params={"state": "overdue"}, headers=operator)
    mine = [f for f in overdue.json() if f["application_id"] == app_id]
    assert [(f["task_id"], f["department"], f["reasons"]) for f in mine] == [("*", "mva", [SLOW])]
    listed = ops(settings, "follow-ups", "--overdue", "--json")
    assert listed.returncode == 0, listed.stderr
    assert app_id in {row["application"] for row in orjson.loads(listed.stdout)}

    answer = {"answer": "已核实：退役安置材料流转慢，已优化为并联审批"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        url = f"/v1/follow-ups/{app_id}/*"
        answered = await api.post(url, json=answer, headers={"X-API-Key": MVA_KEY})
        assert answered.status_code == 201, answered.text
        assert answered.json()["answer"] == answer["answer"]
        again = await api.post(url, json=answer, headers={"X-API-Key": MVA_KEY})
        assert again.status_code == 409

    def told() -> list[dict[str, object]]:
        return [
            e["data"]
            for e in observer.on(topics.STATUS, app_id)
            if e["data"].get("status") == "follow_up_answered"
        ]

    [event] = await eventually(told)
    assert event["reason"] == answer["answer"]
    summary = (await http.get("/v1/ratings", headers=operator)).json()
    loop = next(
        r for r in summary if (r["department"], r["matter"]) == ("mva", "veteran_discharge")
    )
    assert loop["follow_ups"].get("answered", 0) >= 1
    still = await http.get("/v1/follow-ups", params={"state": "overdue"}, headers=operator)
    assert app_id not in {f["application_id"] for f in still.json()}
