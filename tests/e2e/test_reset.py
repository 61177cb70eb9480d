"""`onething ops reset`: a run a bug failed goes on, after the fix, from its last good point."""

from __future__ import annotations

import uuid

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from infra.settings import Settings
from tests.conftest import OPERATOR_KEY
from tests.e2e.helpers import ops

pytestmark = pytest.mark.stack


@workflow.defn(name="ResetProbe")
class Buggy:
    """Waits for a signal, then trips over a bug that fails the run."""

    def __init__(self) -> None:
        self.go = False

    @workflow.signal(name="proceed")
    def proceed(self) -> None:
        self.go = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        raise ApplicationError("a bug: the decision divides by zero", non_retryable=True)


@workflow.defn(name="ResetProbe")
class Fixed(Buggy):
    """The same workflow with the bug fixed."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.go)
        return "approved"


def worker(client: Client, queue: str, fixed: bool) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=[Fixed if fixed else Buggy],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


async def test_reset_revives_a_workflow_a_bug_failed_once_the_fix_is_deployed(
    temporal: Client, settings: Settings
) -> None:
    queue, app_id = f"reset-probe-{uuid.uuid4().hex}", f"ot-{uuid.uuid4().hex}"
    async with worker(temporal, queue, fixed=False):
        handle = await temporal.start_workflow("ResetProbe", id=app_id, task_queue=queue)
        await handle.signal("proceed")
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    async with worker(temporal, queue, fixed=True):  # the fix, deployed
        revived = ops(settings, "reset", app_id, "--reason", "除零缺陷已修复")
        assert revived.returncode == 0, revived.stdout + revived.stderr
        assert f"reset: {app_id}" in revived.stdout
        latest = temporal.get_workflow_handle(app_id)
        assert await latest.result() == "approved"  # the signal before the point is kept
    described = await latest.describe()
    assert described.run_id != handle.result_run_id

    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as api:
        trail = await api.get(
            f"/v1/applications/{app_id}/audit", headers={"X-API-Key": OPERATOR_KEY}
        )
    reset = [e for e in trail.json()["entries"] if e["detail"].get("action") == "reset"]
    assert [(e["actor"], e["detail"]["reason"]) for e in reset] == [("operator", "除零缺陷已修复")]

    nowhere = ops(settings, "reset", f"ot-{uuid.uuid4().hex}", "--reason", "x")
    assert nowhere.returncode == 1 and "no application" in nowhere.stdout
