"""A department whose system is an HTTP service, called through the REST adapter."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import free_port, port_open
from tests.conftest import stack_settings
from tests.e2e.helpers import body, eventually, finished, submit

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """A deployment whose housing fund (hpf) is an HTTP system with its records in SQLite."""
    state = tmp_path_factory.mktemp("rest")
    port, db = free_port(), state / "hpf.db"
    settings = stack_settings(state, rest_departments={"hpf": f"http://127.0.0.1:{port}"})
    system = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "department-http",
            "hpf",
            "--port",
            str(port),
            "--db",
            str(db),
        ],
        env={**os.environ, **settings.env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deployment = Deployment(settings)
    try:
        deployment.up()
        yield settings, db
    finally:
        deployment.down()
        system.terminate()
        system.wait(10)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(rest: tuple[Settings, Path]) -> AsyncIterator[httpx.AsyncClient]:
    port = int(rest[0].rest_departments["hpf"].rsplit(":", 1)[1])
    await eventually(lambda: port_open("127.0.0.1", port))
    async with httpx.AsyncClient(base_url=rest[0].api_url, timeout=10) as client:
        yield client


async def test_a_rest_department_completes_and_undoes_its_tasks(
    api: httpx.AsyncClient, rest: tuple[Settings, Path]
) -> None:
    approved = await finished(api, await submit(api, body("enterprise opening")))
    assert approved.status.value == "approved"
    assert approved.task("housing_fund").outputs["housing_fund_account"].startswith("HPF-")
    app_id = await submit(api, body("enterprise opening", bank_branch="横琴已撤销网点"))
    rejected = await finished(api, app_id)
    assert rejected.task("housing_fund").state.value == "compensated"
    with sqlite3.connect(rest[1]) as db:
        keys = {k for (k,) in db.execute("select key from records")}
    assert {
        f"{approved.id}/housing_fund/handle",
        f"{app_id}/housing_fund/handle",
        f"{app_id}/housing_fund/compensate",
    } <= keys
