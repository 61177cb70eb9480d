"""The operators' tools: an application's story from its history, lists by search attribute."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.e2e.helpers import (
    eventually,
    finished,
    held_at_real_estate,
    ops,
    replay_and_record,
    submit,
)

pytestmark = pytest.mark.stack


async def test_ops_show_prints_a_compensated_application_in_order(
    http: httpx.AsyncClient, settings: Settings, temporal: Client
) -> None:
    body = example(
        "enterprise_opening", company_name="广州运维科技有限公司", bank_branch="横琴已撤销网点"
    )
    progress = await finished(http, await submit(http, body))
    assert progress.status.value == "rejected"
    shown = ops(settings, "show", progress.id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()

    def line_of(*words: str) -> int:
        return next(i for i, line in enumerate(lines) if all(w in line for w in words))

    submitted = line_of("submitted", "enterprise_opening")
    registered = line_of("approved", "business_registration")
    refused = line_of("rejected", "bank_account")
    undone = [line_of("compensated", t.task_id) for t in progress.undone()]
    assert submitted < registered < refused < undone[0]
    assert undone == sorted(undone) and len(undone) == 6
    assert line_of("compensate sent", "tax_registration") < undone[0]
    ended = max(i for i, line in enumerate(lines) if "rejected" in line)
    assert ended > max(undone)  # the application ends once everything is undone

    listed = ops(settings, "list", "--status", "rejected", "--one-thing", "enterprise_opening")
    assert listed.returncode == 0 and progress.id in listed.stdout
    await replay_and_record(temporal, progress.id, "enterprise_opening_rejected_indexed")


async def test_ops_list_by_department_waited_on_and_ops_withdraw(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    async with held_at_real_estate(http, settings) as app_id:

        def waiting_on_mnr() -> bool:
            return app_id in ops(settings, "list", "--dept", "mnr").stdout

        await eventually(waiting_on_mnr, timeout=10)
        withdrawn = ops(settings, "withdraw", app_id, "--reason", "applicant asked by phone")
        assert withdrawn.returncode == 0, withdrawn.stdout
    progress = await finished(http, app_id)
    assert progress.status.value == "withdrawn"
    assert progress.reason and "by an operator: applicant asked by phone" in progress.reason
    again = ops(settings, "withdraw", app_id, "--reason", "twice")
    assert again.returncode == 1 and "already withdrawn" in again.stdout
