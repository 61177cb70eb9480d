"""A refused matter the one thing can do without: the rest stands, the application ends
partially approved."""

import httpx
from temporalio.client import Client

from tests.e2e.helpers import body, finished, replay_and_record, submit


async def test_a_birth_refused_its_maternity_reimbursement_keeps_the_rest(
    http: httpx.AsyncClient, temporal: Client
) -> None:
    app_id = await submit(http, body("birth, maternity reimbursement refused"))
    progress = await finished(http, app_id)
    assert progress.status.value == "partially_approved"
    reimbursement = progress.task("maternity_reimbursement")
    assert reimbursement.state.value == "rejected"
    assert progress.reason == f"refused: {reimbursement.title}: {reimbursement.reason}"
    assert reimbursement.reason and "非医保定点" in reimbursement.reason
    others = [t for t in progress.tasks if t.task_id != "maternity_reimbursement"]
    assert {t.state.value for t in others} == {"approved"}  # the certificate is not voided
    assert progress.undone() == []
    assert len(progress.started) == 1  # the childcare subsidy starts all the same
    started = await finished(http, progress.started[0])
    assert (started.one_thing, started.status.value) == ("childcare_subsidy", "approved")
    await replay_and_record(temporal, app_id, "birth_partially_approved")
