"""The audit trail of a real application: every command, answer and undo, and the operator who
withdrew it, hash-chained; `onething audit verify` finds the entry someone altered."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import OPERATOR_KEY
from tests.e2e.helpers import finished, ops, progress_of, submit
from tests.e2e.test_unhappy_paths import SLOW_HPF

pytestmark = pytest.mark.stack


def audit(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "audit", *args],
        env={**os.environ, **settings.env(), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_an_operator_s_withdrawal_is_in_the_trail_and_an_altered_entry_is_caught(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    body = example("enterprise_opening", company_name=SLOW_HPF)  # still waited on when withdrawn
    app_id = await submit(http, body)
    async with asyncio.timeout(15):
        while (await progress_of(http, app_id)).task("business_registration").state.value != (
            "approved"
        ):
            await asyncio.sleep(0.1)
    withdrawn = ops(settings, "withdraw", app_id, "--reason", "申请人电话要求撤回")
    assert withdrawn.returncode == 0, withdrawn.stdout + withdrawn.stderr
    ended = await finished(http, app_id)
    assert ended.status.value == "withdrawn"

    trail = (
        await http.get(f"/v1/applications/{app_id}/audit", headers={"X-API-Key": OPERATOR_KEY})
    ).json()
    assert trail["intact"] is True and trail["broken"] is None
    entries = trail["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    kinds = [(e["kind"], e["actor"], e["detail"].get("task")) for e in entries]
    assert ("command", "onething", "business_registration") in kinds
    assert ("answer", "amr", "business_registration") in kinds
    assert ("undo", "onething", "business_registration") in kinds
    operator = [e for e in entries if e["kind"] == "operator"]
    assert [(e["actor"], e["detail"]) for e in operator] == [
        ("operator", {"action": "withdraw", "reason": "by an operator: 申请人电话要求撤回"})
    ]
    sent = next(e for e in entries if e["kind"] == "command")
    assert "company_name" in sent["detail"]["fields"]  # names of fields, never their values
    assert SLOW_HPF not in str(entries)

    intact = audit(settings, "verify", app_id)  # and the operator's read of the trail
    assert intact.returncode == 0 and f"{len(entries) + 1} entries" in intact.stdout, intact.stdout
    shown = audit(settings, "show", app_id, "--json")
    assert shown.returncode == 0 and "withdraw" in shown.stdout

    answer = next(e for e in entries if e["kind"] == "answer")
    with sqlite3.connect(settings.state_dir / "audit.sqlite") as db:
        db.execute(
            "update audit set detail = replace(detail, 'approved', 'rejected') "
            "where application_id = ? and seq = ?",
            (app_id, answer["seq"]),
        )
    caught = audit(settings, "verify", app_id)
    assert caught.returncode == 1
    assert f"entry {answer['seq']}: its content was altered" in caught.stdout, caught.stdout
