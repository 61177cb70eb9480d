"""What is written stays written, and nothing reaches an application unseen: a plaintext or
unsigned request sent straight to Temporal changes nothing, a trail cut short is named, and
every operator read is in the applicant's access log."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import subprocess
import sys

import httpx
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from infra.settings import Settings
from orchestrator.cli.demo import example
from orchestrator.client import data_converter
from orchestrator.ops.signed_requests import DROPPED_UNSIGNED_SIGNALS
from orchestrator.workflow.models import TakenIn, Withdrawal
from orchestrator.workflow.names import TAKEN_IN, WITHDRAW
from tests.conftest import OPERATOR_KEY
from tests.e2e.helpers import finished, progress_of, submit
from tests.e2e.test_audit import audit
from tests.e2e.test_unhappy_paths import SLOW_HPF

pytestmark = pytest.mark.stack


async def test_a_request_sent_straight_to_temporal_unsigned_changes_nothing(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await submit(http, example("enterprise_opening", company_name=SLOW_HPF))
    plaintext = await Client.connect(
        settings.temporal,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
    encrypted = await Client.connect(  # our payload keys, but no request signing key
        settings.temporal,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
    for client in (plaintext, encrypted):
        handle = client.get_workflow_handle(app_id)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(WITHDRAW, Withdrawal(reason="forged"), result_type=str)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "UnsignedRequest"
    await encrypted.get_workflow_handle(app_id).signal(
        TAKEN_IN, TakenIn(task_id="housing_fund", attempt=1)
    )
    async with asyncio.timeout(10):  # the signal is in the history, and was dropped there
        while DROPPED_UNSIGNED_SIGNALS not in str(
            await encrypted.get_workflow_handle(app_id).fetch_history()
        ):
            await asyncio.sleep(0.2)
    progress = await progress_of(http, app_id)
    assert progress.status.value != "withdrawn"
    assert "forged" not in progress.model_dump_json()


async def test_a_trail_cut_short_is_named_by_audit_verify(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await submit(http, example("retirement"))
    await finished(http, app_id)
    intact = audit(settings, "verify", app_id)
    assert intact.returncode == 0, intact.stdout
    with sqlite3.connect(settings.state_dir / "audit.sqlite") as db:
        (count,) = db.execute(
            "select max(seq) from audit where application_id = ?", (app_id,)
        ).fetchone()
        db.execute("delete from audit where application_id = ? and seq >= ?", (app_id, count - 1))
    cut = audit(settings, "verify", app_id)
    assert cut.returncode == 1
    assert f"entries {count - 1} to {count} were removed" in cut.stdout, cut.stdout
    with sqlite3.connect(settings.state_dir / "audit.sqlite") as db:
        db.execute("delete from audit where application_id = ?", (app_id,))
    deleted = audit(settings, "verify", app_id)
    assert deleted.returncode == 1 and "it was deleted" in deleted.stdout, deleted.stdout


async def test_every_operator_read_is_in_the_applicant_s_access_log(
    http: httpx.AsyncClient, settings: Settings, temporal: Client
) -> None:
    app_id = await submit(http, example("retirement"))
    await finished(http, app_id)
    operator = {"X-API-Key": OPERATOR_KEY}
    assert (await http.get(f"/v1/applications/{app_id}/audit", headers=operator)).status_code == 200
    assert (
        await http.get(f"/v1/applications/{app_id}/access-log", headers=operator)
    ).status_code == 200
    history = await temporal.get_workflow_handle(app_id).fetch_history()
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    wire = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
                "data": base64.b64encode(payload.data).decode(),
            }
        ]
    }
    assert (await http.post("/codec/decode", json=wire, headers=operator)).status_code == 200
    log = (await http.get(f"/v1/applications/{app_id}/access-log")).json()
    reads = {(entry["who"], entry["what"]) for entry in log if entry["kind"] == "read"}
    assert {
        ("operator", "audit trail"),
        ("operator", "access log"),
        ("operator", "workflow history"),
    } <= reads


async def test_an_operator_s_cli_logs_its_reads_through_the_api_without_the_audit_key(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = await submit(http, example("retirement"))
    await finished(http, app_id)
    without_audit_key = {**settings.env(), "ONETHING_AUDIT_SIGNING_KEYS": "{}"}
    shown = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "orchestrator.cli.main", "ops", "show", app_id],
        env={**os.environ, **without_audit_key, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    log = (await http.get(f"/v1/applications/{app_id}/access-log")).json()
    assert ("operator", "history") in {(e["who"], e["what"]) for e in log if e["kind"] == "read"}
