"""The way back when a department cannot undo: refused for a reason, or failing until an
operator decides."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from events import topics
from infra.settings import Settings
from tests.conftest import Observer
from tests.e2e.helpers import body, eventually, finished, ops, replay_and_record, submit
from tests.e2e.test_unhappy_paths import CLOSED_BRANCH, status_of_task

pytestmark = pytest.mark.stack
TRADING = "已营业科技有限公司"  # the simulated amr refuses to deregister a company that trades
SEAL_REGISTRY_DOWN = "印章系统故障科技有限公司"  # the simulated psb fails every seal undo


async def record_state(settings: Settings, department: str, key: str) -> str:
    async with httpx.AsyncClient(base_url=settings.simulators_url) as client:
        records = (await client.get(f"/{department}/records")).json()["items"]
    return str(next(r["state"] for r in records if r["key"] == key))


async def test_an_undo_refused_is_kept_named_and_the_rest_undone_newest_first(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    request = body("enterprise opening", company_name=TRADING, bank_branch=CLOSED_BRANCH)
    progress = await finished(http, await submit(http, request))
    registration = progress.task("business_registration")
    assert registration.state.value == "undo_refused"
    assert registration.compensated_at is None
    assert registration.timeline[-1].detail and "already trades" in registration.timeline[-1].detail
    assert progress.status.value == "rejected" and progress.reason
    assert progress.reason.startswith(progress.task("bank_account").title)
    assert f"not undone: {registration.title}: " in progress.reason
    undone = [t.task_id for t in progress.undone()]
    assert set(undone) == {
        "tax_registration",
        "housing_fund",
        "social_insurance",
        "medical_insurance_registration",
        "seal_engraving",
    }
    completed = sorted(
        (t for t in progress.tasks if t.task_id in undone), key=lambda t: t.completed_at or 0
    )
    assert undone == [t.task_id for t in reversed(completed)]  # newest first
    key = f"{progress.id}/business_registration/handle"
    assert await record_state(settings, "amr", key) == "approved"  # it still stands
    refused = await eventually(
        lambda: [
            e["data"]
            for e in observer.on(topics.STATUS, progress.id)
            if e["data"].get("state") == "undo_refused"
        ]
    )
    assert refused[0]["task_id"] == "business_registration"
    await replay_and_record(temporal, progress.id, "enterprise_opening_undo_refused")


async def test_an_undo_failing_past_its_limit_is_escalated_and_settled_by_an_operator(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    request = body("enterprise opening", company_name=SEAL_REGISTRY_DOWN, bank_branch=CLOSED_BRANCH)
    app_id = await submit(http, request)
    await status_of_task(http, app_id, "seal_engraving", "undo_escalated")
    listed = ops(settings, "list", "--status", "compensating")
    assert app_id in listed.stdout and "psb" in listed.stdout
    escalated = await eventually(
        lambda: [
            e["data"]
            for e in observer.on(topics.STATUS, app_id)
            if e["data"].get("state") == "undo_escalated"
        ]
    )
    assert escalated[0]["task_id"] == "seal_engraving"
    wrong = ops(settings, "fail", app_id, "seal_engraving", "--reason", "x")
    assert wrong.returncode == 1 and "fail is not open" in wrong.stdout
    settled = ops(settings, "resolve", app_id, "seal_engraving", "--reason", "印章已当面销毁")
    assert settled.returncode == 0, settled.stdout
    progress = await finished(http, app_id)
    seal = progress.task("seal_engraving")
    assert seal.state.value == "compensated"
    assert seal.timeline[-1].detail == "settled by hand by an operator: 印章已当面销毁"
    assert progress.task("business_registration").state.value == "compensated"  # went on
    assert progress.status.value == "rejected"
    key = f"{app_id}/seal_engraving/handle"
    assert await record_state(settings, "psb", key) == "approved"  # psb itself never undid it
    await replay_and_record(temporal, app_id, "enterprise_opening_undo_settled_by_hand")
