"""What a fault scenario needs: a deployment of its own, applications in flight, and a count
of what became of them, read from the public surfaces (HTTP API, topics, simulator records)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import Supervisor
from orchestrator.cli.demo import example
from orchestrator.workflow.models import Progress, TaskState
from orchestrator.workflow.way_back import OPEN_STATES
from tests.conftest import API_KEYS, portal_client, stack_settings

UNDONE_STATES = {"compensated", "voided"}
SIMULATED = ("amr", "psb", "tax", "hrss", "hpf", "bank", "nhc", "nhsa")  # in these drills


OPEN = OPEN_STATES | {TaskState.COMPENSATING}  # what an application may still wait for


@dataclass
class Outcome:
    """One scenario's figures, as `make faults` prints them."""

    scenario: str
    submitted: int = 0
    expected: int = 0
    stuck: int = 0
    double_effects: int = 0
    escalated: int = 0
    during_outage: Counter[int] = field(default_factory=Counter)
    slowest_answer_s: float = 0.0
    recovery_s: float | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (
            self.submitted > 0
            and self.expected == self.submitted
            and self.stuck == 0
            and self.double_effects == 0
            and self.during_outage[500] == 0
            and self.during_outage[0] == 0
            and self.slowest_answer_s <= 10
            and all(self.checks.values())
        )

    def row(self) -> dict[str, Any]:
        answers = " ".join(f"{k}×{v}" for k, v in sorted(self.during_outage.items())) or "-"
        return {
            "scenario": self.scenario,
            "submitted": self.submitted,
            "ended as expected": self.expected,
            "stuck": self.stuck,
            "double effects": self.double_effects,
            "escalated": self.escalated,
            "HTTP during outage": answers,
            "slowest answer s": round(self.slowest_answer_s, 1),
            "recovery s": "-" if self.recovery_s is None else round(self.recovery_s, 1),
            "checks": " ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in self.checks.items()),
            "clean": self.clean,
        }


@contextlib.asynccontextmanager
async def deployment(replicas: int = 1, **overrides: object) -> AsyncIterator[Deployment]:
    """A fresh deployment: departments answering in 0.5 s, every matter at its real time
    limit (days), so a lost dispatch stays lost unless the product notices it; `replicas`
    copies of every process but the simulated departments."""
    state = Path(tempfile.mkdtemp(prefix="onething-faults-"))
    defaults: dict[str, object] = {
        "sim_latency": {},
        "sim_default_latency": 0.5,
        "api_keys": API_KEYS,
    }
    settings = stack_settings(state, **{**defaults, **overrides})
    running = Deployment.with_replicas(settings, replicas)
    try:
        await asyncio.to_thread(running.up)
        yield running
    except BaseException:
        await asyncio.to_thread(running.down)
        print(f"logs kept in {state / 'logs'}")
        raise
    await asyncio.to_thread(running.down)
    shutil.rmtree(state, ignore_errors=True)


@contextlib.asynccontextmanager
async def portal(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with portal_client(settings, timeout=30) as http:
        yield http


def application(i: int) -> dict[str, Any]:
    """Births and enterprise openings, two openings to a birth."""
    if i % 3 == 2:
        return example("birth")
    return example("enterprise_opening", company_name=f"广州故障演练{i:04d}科技有限公司")


async def submit(http: httpx.AsyncClient, n: int) -> list[str]:
    """Submit n applications at once; retry a 503 (the only answer allowed besides 201)."""

    async def one(i: int) -> str:
        while True:
            response = await http.post("/v1/applications", json=application(i))
            if response.status_code == 201:
                return str(response.json()["id"])
            assert response.status_code == 503, response.text
            await asyncio.sleep(1)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def read(http: httpx.AsyncClient, app_id: str) -> Progress | None:
    response = await http.get(f"/v1/applications/{app_id}")
    if response.status_code != 200:
        return None
    return Progress.model_validate(response.json())


async def wait_until_ended(
    http: httpx.AsyncClient, app_ids: list[str], timeout: float
) -> dict[str, Progress]:
    """The final progress of each application that ended within `timeout`."""
    ended: dict[str, Progress] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(app_ids) and time.monotonic() < deadline:
        for app_id in app_ids:
            if app_id not in ended and (progress := await read(http, app_id)) and progress.finished:
                ended[app_id] = progress
        await asyncio.sleep(0.5)
    return ended


async def records(settings: Settings) -> dict[str, dict[str, str]]:
    """Every simulated department's records: key -> state."""
    found: dict[str, dict[str, str]] = {}
    simulated = [d for d in SIMULATED if d not in settings.sim_skip]
    async with httpx.AsyncClient(base_url=settings.simulators_url, timeout=30) as client:
        for department in simulated:
            items = (await client.get(f"/{department}/records")).json()["items"]
            found[department] = {r["key"]: r["state"] for r in items}
    return found


def double_effects(progress: Progress, found: dict[str, dict[str, str]]) -> int:
    """Departments' records that disagree with the application's end: work left standing
    that was undone, undone that stands, or an undo of an approved application (of the
    departments simulated here)."""
    wrong = 0
    for task in progress.tasks:
        if task.department not in found:
            continue
        state = found[task.department].get(f"{progress.id}/{task.task_id}/handle")
        if (task.state.value == "approved" and state != "approved") or (
            task.state.value in UNDONE_STATES and state in (None, "approved")
        ):
            wrong += 1
    return wrong


async def settle(
    outcome: Outcome,
    settings: Settings,
    http: httpx.AsyncClient,
    app_ids: list[str],
    expected: dict[str, str],
    since: float,
    timeout: float = 120,
) -> None:
    """Wait for every application; count what ended as expected, stuck, double effects."""
    outcome.submitted = len(app_ids)
    ended = await wait_until_ended(http, app_ids, timeout)
    outcome.recovery_s = time.monotonic() - since
    outcome.stuck = len(app_ids) - len(ended)
    for app_id in app_ids:
        if app_id not in ended and (progress := await read(http, app_id)):
            open_tasks = [f"{t.task_id}={t.state.value}" for t in progress.tasks if t.state in OPEN]
            outcome.notes.append(f"{app_id}: stuck {progress.status.value}, {' '.join(open_tasks)}")
    found = await records(settings)
    for app_id, progress in ended.items():
        if progress.status.value == expected.get(app_id, "approved"):
            outcome.expected += 1
        else:
            outcome.notes.append(f"{app_id}: {progress.status.value} ({progress.reason})")
        outcome.double_effects += double_effects(progress, found)
        outcome.escalated += sum(
            any(e.state.value == "escalated" for e in t.timeline) for t in progress.tasks
        )


async def poll_during(
    outcome: Outcome, http: httpx.AsyncClient, app_ids: list[str], stop: asyncio.Event
) -> None:
    """Read progress and submit, as portals do, until `stop`: count the answers by status."""
    i = 0
    while not stop.is_set():
        i += 1
        read_one = http.get(f"/v1/applications/{app_ids[i % len(app_ids)]}")
        submit_one = http.post(
            "/v1/applications", json=application(i), headers={"Idempotency-Key": f"probe-{i}"}
        )
        started = time.monotonic()
        for response in await asyncio.gather(read_one, submit_one, return_exceptions=True):
            status = response.status_code if isinstance(response, httpx.Response) else 0
            outcome.during_outage[status] += 1
        outcome.slowest_answer_s = max(outcome.slowest_answer_s, time.monotonic() - started)
        await asyncio.sleep(0.5)


def kill(settings: Settings, name: str) -> None:
    """SIGKILL a service's whole process group, as a crash would."""
    pid = Supervisor(settings.state_dir).pid(name)
    assert pid is not None, f"{name} is not running"
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Supervisor(settings.state_dir).pid(name) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
