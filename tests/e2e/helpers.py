"""Helpers of the end-to-end tests: submit through the API, wait, read what Kafka carried."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.worker import Replayer

from events import TaskResult, topics
from events.contracts import DeadLetter
from events.proof import result_signing_bytes
from infra.sealing import Sealer
from infra.settings import Settings
from infra.signing import Signer
from one_things import load_catalogue
from orchestrator.cli.demo import APPLICATIONS, example
from orchestrator.intake.identity import ASSERTION_HEADER, issue_assertion
from orchestrator.ops.history import readable
from orchestrator.workflow.models import Progress
from orchestrator.workflow.workflow import OneThingWorkflow
from tests.conftest import Observer

CATALOGUE = load_catalogue()
HISTORIES = Path(__file__).parent.parent / "replay" / "histories"


def opened(settings: Settings, letter: dict[str, Any]) -> bytes:
    """A dead letter's original bytes, opened with the deployment's payload keys."""
    return Sealer.of(settings).original(DeadLetter.model_validate(letter))


def ops(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `onething ops …` against the test deployment."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", "ops", *args],
        env={**os.environ, **settings.env(), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def replay_and_record(temporal: Client, application_id: str, name: str) -> None:
    """Replay an application's whole history on today's code; keep it if asked to record."""
    handle = temporal.get_workflow_handle(application_id)
    await handle.result()  # its end is in the history too (the last status event is out)
    # kept readable: the deployment's payload keys are its own, the replay suite has none
    history = await readable(await handle.fetch_history(), temporal.data_converter.payload_codec)
    replayer = Replayer(workflows=[OneThingWorkflow], data_converter=temporal.data_converter)
    await replayer.replay_workflow(history)
    if os.environ.get("ONETHING_RECORD_HISTORIES"):
        (HISTORIES / f"{name}.json").write_text(history.to_json())


def body(label: str, **form_changes: Any) -> dict[str, Any]:
    """A demo application's request body (a copy), with some form fields changed."""
    chosen = copy.deepcopy(next(a.body for a in APPLICATIONS if a.label == label))
    chosen["form"].update(form_changes)
    return chosen


async def sealed(http: httpx.AsyncClient, settings: Settings, payload: dict[str, Any]) -> str:
    """An assertion for the applicant `payload` names, sealed by OneThing for portal-a (what an
    `ApplicationRequested` carries)."""
    vouched = issue_assertion(settings, payload["applicant"]["id_number"], portal="portal-a")
    answer = await http.post("/v1/sealed-assertions", headers={ASSERTION_HEADER: vouched})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sealed_assertion"])


async def submit(http: httpx.AsyncClient, payload: dict[str, Any]) -> str:
    response = await http.post("/v1/applications", json=payload)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def finished(http: httpx.AsyncClient, application_id: str, timeout: float = 60) -> Progress:
    """The application once finished; failing after `timeout`, with where it was last seen."""
    progress: Progress | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                response = await http.get(f"/v1/applications/{application_id}")
                if response.status_code == 503:  # no worker at the moment
                    continue
                assert response.status_code == 200, response.text
                progress = Progress.model_validate(response.json())
                if progress.finished:
                    return progress
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(
            f"{application_id} not finished after {timeout:.0f} s; last seen: {where(progress)}"
        ) from None


def where(progress: Progress | None) -> str:
    if progress is None:
        return "never (no answer but 503)"
    tasks = (f"{t.task_id} {t.state.value} ({t.reason or '-'})" for t in progress.tasks)
    return f"{progress.status.value} ({progress.reason or '-'}); " + ", ".join(tasks)


async def eventually(check: Any, timeout: float = 15) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := check()):
            await asyncio.sleep(0.1)
        return value


def commands(observer: Observer, application_id: str) -> dict[str, dict[str, Any]]:
    """The latest `handle` command per task that the departments received."""
    out: dict[str, dict[str, Any]] = {}
    for department in CATALOGUE.departments():
        for event in observer.on(topics.department_tasks(department), application_id):
            if event["data"]["action"] == "handle":
                out[event["data"]["task_id"]] = event["data"]
    return out


def undo_commands(observer: Observer, application_id: str) -> list[tuple[int, dict[str, Any]]]:
    """(broker timestamp, command) of every compensate or void command, oldest first."""
    found = [
        (record.timestamp, orjson.loads(record.value)["data"])
        for department in CATALOGUE.departments()
        for record in observer.raw(topics.department_tasks(department), application_id)
    ]
    return sorted(((t, c) for t, c in found if c["action"] != "handle"), key=lambda p: p[0])


def results(observer: Observer, application_id: str) -> list[tuple[int, dict[str, Any]]]:
    """(broker timestamp, result) of every result the departments sent, oldest first."""
    found = [
        (r.timestamp, orjson.loads(r.value)["data"])
        for r in observer.raw(topics.RESULTS, application_id)
    ]
    return sorted(found, key=lambda p: p[0])


async def progress_of(http: httpx.AsyncClient, application_id: str) -> Progress:
    return Progress.model_validate((await http.get(f"/v1/applications/{application_id}")).json())


async def status_becomes(http: httpx.AsyncClient, application_id: str, status: str) -> Progress:
    async with asyncio.timeout(30):
        while (progress := await progress_of(http, application_id)).status.value != status:
            await asyncio.sleep(0.05)
        return progress


def bridge_fates(exposition: str) -> dict[str, int]:
    """The bridge's counters by fate (applied, stale, dead_lettered, …) from its /metrics."""
    return {
        sample.labels["fate"]: int(sample.value)
        for family in text_string_to_metric_families(exposition)
        if family.name == "onething_bridge_results"
        for sample in family.samples
        if sample.name == "onething_bridge_results_total"
    }


@contextlib.asynccontextmanager
async def held_at_real_estate(http: httpx.AsyncClient, settings: Settings) -> AsyncIterator[str]:
    """A school enrolment that keeps running: real estate (mnr, a batch system trading files)
    has its command but keeps its batch window closed until the block ends."""
    folder = settings.file_departments["mnr"]
    (folder / "PAUSED").touch()
    try:
        app_id = await submit(http, example("school_enrolment"))
        await eventually(lambda: any((folder / "drop").glob(f"{app_id}__*.json")))
        yield app_id
    finally:
        (folder / "PAUSED").unlink()


def proven_by(result: TaskResult, settings: Settings, department: str) -> TaskResult:
    """The answer as `department` sends it: proven with its own signing key."""
    key = settings.answer_signing_key(department)
    assert key is not None, f"no signing key of {department}"
    signer = Signer(*key)
    proof = signer.sign(result_signing_bytes(result.model_dump(mode="json")))
    return result.model_copy(update={"proof": proof, "proof_key_id": signer.key_id})
