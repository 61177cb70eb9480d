"""A department that consumes Kafka itself, built from the exported contracts alone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from events.schemas import export
from infra.services import Deployment
from infra.settings import Settings
from one_things import export_contracts, load_catalogue, matters_by_department
from tests.conftest import portal_client, stack_settings
from tests.e2e.helpers import body, finished, submit

pytestmark = pytest.mark.stack
EXAMPLE = Path(__file__).parents[2] / "adapters" / "examples" / "kafka_native" / "department.py"


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """A deployment whose housing fund (hpf) is the example department, not a simulator."""
    state = tmp_path_factory.mktemp("native")
    settings = stack_settings(state, sim_skip=["hpf"])
    deployment = Deployment(settings)
    schemas = state / "contracts"
    catalogue = load_catalogue()
    export(schemas, catalogue.departments(), matters_by_department(catalogue))
    export_contracts(catalogue, schemas)
    db = state / "hpf.db"
    department = None
    try:
        deployment.up()
        secrets = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli.main", "department-secret", "hpf"],
            env={**os.environ, **settings.env()},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        department = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLE),
                "--department",
                "hpf",
                "--schemas",
                str(schemas),
                "--db",
                str(db),
                "--bootstrap",
                settings.kafka,
                *(arg for secret in secrets for arg in ("--secret", secret)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(state / "hpf.log", "wb"),  # noqa: SIM115
        )
        yield settings, db
    finally:
        if department is not None:
            department.terminate()
            department.wait(10)
        deployment.down()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(native: tuple[Settings, Path]) -> AsyncIterator[httpx.AsyncClient]:
    settings, db = native
    async with asyncio.timeout(30):
        while not Path(f"{db}.ready").exists():
            await asyncio.sleep(0.1)
    async with portal_client(settings) as client:
        yield client


async def test_the_example_department_completes_its_tasks(
    api: httpx.AsyncClient, native: tuple[Settings, Path]
) -> None:
    progress = await finished(api, await submit(api, body("enterprise opening")))
    assert progress.status.value == "approved"
    assert progress.task("housing_fund").outputs["housing_fund_account"].startswith("KN-")


async def test_the_example_department_undoes_its_work(
    api: httpx.AsyncClient, native: tuple[Settings, Path]
) -> None:
    app_id = await submit(api, body("enterprise opening", bank_branch="横琴已撤销网点"))
    progress = await finished(api, app_id)
    assert progress.status.value == "rejected"
    assert progress.task("housing_fund").state.value == "compensated"
    with sqlite3.connect(native[1]) as db:
        keys = {k for (k,) in db.execute("select key from done")}
    assert {f"{app_id}/housing_fund/handle", f"{app_id}/housing_fund/compensate"} <= keys
