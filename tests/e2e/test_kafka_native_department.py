"""A department that consumes Kafka itself, built from the exported contracts alone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio

from events import topics
from events.envelope import HEADERS, dumps, wrap
from events.schemas import export
from infra import kafka
from infra.services import Deployment
from infra.settings import Settings
from one_things import export_contracts, load_catalogue, matters_by_department
from tests.conftest import portal_client, stack_settings
from tests.e2e.helpers import body, finished, submit
from tests.factories import task_command

pytestmark = pytest.mark.stack
EXAMPLE = Path(__file__).parents[2] / "adapters" / "examples" / "kafka_native" / "department.py"


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    """A deployment whose housing fund (hpf) is the example department, not a simulator."""
    state = tmp_path_factory.mktemp("native")
    key_id, signing_key, public = department_keys("hpf")
    (key_file := state / "hpf-key.pem").write_text(signing_key)
    key_file.chmod(0o600)
    settings = stack_settings(state, sim_skip=["hpf"])  # hpf's own key, not the key set's:
    settings = settings.model_copy(
        update={"department_answer_keys": {**settings.department_answer_keys, "hpf": public}}
    )
    deployment = Deployment(settings)
    schemas = state / "contracts"
    catalogue = load_catalogue()
    export(schemas, catalogue.departments(), matters_by_department(catalogue))
    export_contracts(catalogue, schemas)
    db = state / "hpf.db"
    department = None
    try:
        deployment.up()
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
                "--signing-key",
                f"{key_id}={key_file}",
                *(arg for key in command_keys(settings, state) for arg in ("--command-key", key)),
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


def department_keys(department: str) -> tuple[str, str, dict[str, str]]:
    """A new key pair as `onething department-keys` makes it: (key id, the department's
    private key, the public key by id for OneThing's settings)."""
    made = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "department-keys", department],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    private = made[made.index("-----BEGIN") : made.index("-----END PRIVATE KEY-----\n") + 26]
    public: dict[str, str] = orjson.loads(made.splitlines()[-1])
    return next(iter(public)), private, public


def command_keys(settings: Settings, where: Path) -> list[str]:
    """OneThing's public command keys as `onething command-keys DIR` gives them: KEY_ID=FILE."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "command-keys", str(where / "onething")],
        env={**os.environ, **settings.env()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


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


async def test_the_example_department_refuses_a_command_onething_did_not_sign(
    api: httpx.AsyncClient, native: tuple[Settings, Path]
) -> None:
    settings, db = native
    command = task_command(
        application_id=f"forged-{uuid.uuid4().hex[:12]}",
        task_id="housing_fund",
        one_thing="enterprise_opening",
        matter="housing_fund",
        department="hpf",
    )
    producer = kafka.producer(settings)
    await producer.start()
    try:
        await producer.send(
            topics.department_tasks("hpf"), dumps(wrap(command)), key=b"forged", headers=HEADERS
        )
    finally:
        await producer.stop()

    def refused() -> list[tuple[str, str]]:
        with sqlite3.connect(db) as records:
            return list(records.execute("select key, reason from refused"))

    async with asyncio.timeout(15):
        while not refused():
            await asyncio.sleep(0.1)
    assert refused() == [(command.idempotency_key, "not signed")]
    with sqlite3.connect(db) as records:
        done = {key for (key,) in records.execute("select key from done")}
    assert command.idempotency_key not in done
