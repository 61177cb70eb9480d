"""A catalogue edit while applications run: new ones get the new version, a running one
finishes on the version it was planned on."""

import asyncio
import shutil
from pathlib import Path

import yaml

from one_things import CATALOGUE_DIR
from orchestrator.cli.demo import example
from tests.e2e.helpers import finished, progress_of, submit
from tests.faults.harness import deployment, portal


def edit_birth(directory: Path) -> None:
    """A new version of birth (vaccination in two working days); the one before stays live."""
    current = directory / "birth.yaml"
    source = yaml.safe_load(current.read_text())
    current.rename(directory / f"birth@{source['version']}.yaml")
    vaccination = next(m for m in source["matters"] if m["id"] == "vaccination_certificate")
    vaccination["time_limit"] = "P2WD"
    source["version"] = "2026.12.1"
    current.write_text(yaml.safe_dump(source, allow_unicode=True))


async def test_a_running_application_finishes_on_its_version_after_an_edit(
    tmp_path: Path,
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, catalogue)
    async with deployment(catalogue_dir=catalogue, sim_latency={"psb": 15.0}) as running:
        async with portal(running.settings) as http:
            before = await submit(http, example("birth"))  # waits 15 s for its hukou
        edit_birth(catalogue)
        await asyncio.to_thread(running.supervisor.stop, "api")  # a rollout of the API
        await asyncio.to_thread(running.up, ("api",))
        async with portal(running.settings) as http:
            assert not (await progress_of(http, before)).finished
            after = await submit(http, example("birth"))
            old, new = await finished(http, before), await finished(http, after)
    assert (old.status.value, new.status.value) == ("approved", "approved")
    assert (old.catalogue_version, new.catalogue_version) == ("2026.11.3", "2026.12.1")
    assert old.task("vaccination_certificate").working_days == 1
    assert new.task("vaccination_certificate").working_days == 2
