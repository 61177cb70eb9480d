"""`onething setup` prepares a bare cluster: afterwards an application goes through."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import database
from infra.services import Deployment
from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import portal_client, stack_settings
from tests.e2e.helpers import finished, submit

pytestmark = pytest.mark.stack


def setup_cli(settings: Settings) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "setup"],
        env={**os.environ, **settings.env(), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_setup_on_a_bare_stack_then_an_application_is_approved(tmp_path: Path) -> None:
    settings = stack_settings(tmp_path)
    deployment = Deployment(settings)
    try:
        await asyncio.to_thread(deployment.stack.up, prepare=False)  # no topics, no attributes
        first = setup_cli(settings)
        assert "topics: created dept.amr.tasks" in first, first
        assert "search attributes: created OneThing, ApplicationStatus" in first, first
        assert "databases: created " in first, first
        assert f"licences.sqlite at {database.NEWEST}" in first, first
        again = setup_cli(settings)
        assert "topics: created none" in again, again
        assert "search attributes: created none; 5 already there" in again, again
        assert f"databases: created none; {len(database.STORES)} already there" in again, again

        await asyncio.to_thread(deployment.up)
        async with portal_client(settings, timeout=30) as http:
            progress = await finished(http, await submit(http, example("retirement")))
        assert progress.status.value == "approved", progress.reason
    finally:
        deployment.down()
