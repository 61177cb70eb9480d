"""A department that trades batch files (real estate, mnr, in the test deployment)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from events import topics
from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import Supervisor
from orchestrator.cli.demo import example
from tests.conftest import Observer
from tests.e2e.helpers import eventually, finished, submit

pytestmark = pytest.mark.stack


async def test_a_file_exchange_department_completes_its_tasks_across_an_adapter_restart(
    http: httpx.AsyncClient, settings: Settings, observer: Observer
) -> None:
    folder = settings.file_departments["mnr"]
    supervisor = Supervisor(settings.state_dir)
    (folder / "PAUSED").touch()  # the department's batch window is closed
    try:
        app_id = await submit(http, example("school_enrolment"))
        first = f"{app_id}__housing_check__handle__1.json"
        await eventually(lambda: (folder / "drop" / first).exists())
        adapter = supervisor.pid("departments")
        assert adapter is not None
        await asyncio.to_thread(supervisor.stop, "departments")
    finally:
        (folder / "PAUSED").unlink()
    await eventually(lambda: (folder / "answers" / first).exists())  # answered while it is down
    await asyncio.to_thread(Deployment(settings).up)  # restarts the departments process
    assert supervisor.pid("departments") not in (None, adapter)
    progress = await finished(http, app_id)
    assert progress.status.value == "approved", progress.reason
    assert progress.task("housing_check").outputs["housing_check_ref"].startswith("MNR-HC-")

    mine = sorted(p.name for p in (folder / "answers" / "done").glob(f"{app_id}__*.json"))
    assert first in mine and not list((folder / "answers").glob(f"{app_id}__*.json"))
    results = [e["data"] for e in observer.on(topics.RESULTS, app_id)]
    outcomes = [r["outcome"] for r in results if r["task_id"] == "housing_check"]
    assert "accepted" in outcomes  # taken in when the file was written: not sent again
    published = [o for o in outcomes if o != "accepted"]
    assert len(published) == len(mine)  # each answer file published once, restart or not
    async with httpx.AsyncClient(base_url=settings.simulators_url) as simulators:
        records = (await simulators.get("/mnr/records")).json()["items"]
    assert [r["key"] for r in records if r["key"].startswith(app_id)] == [
        f"{app_id}/housing_check/handle"
    ]


async def test_a_bad_answer_file_is_dead_lettered_and_the_next_one_is_collected(
    http: httpx.AsyncClient, settings: Settings, observer: Observer
) -> None:
    folder = settings.file_departments["mnr"]
    (folder / "answers" / "0-bad.json").write_text('{"outcome": "approved"}')
    await eventually(lambda: (folder / "answers" / "rejected" / "0-bad.json").exists())

    def letters() -> list[dict[str, str]]:
        return [e for e in observer.on(topics.DLQ) if e["topic"].endswith("/answers/0-bad.json")]

    assert "invalid answer file" in (await eventually(letters))[0]["reason"]
    progress = await finished(http, await submit(http, example("school_enrolment")))
    assert progress.status.value == "approved"
