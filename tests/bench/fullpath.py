"""Full-path applications per second against bare Temporal of the same shape, one run.

Usage: python -m tests.bench.fullpath [N_APPS] [ROUNDS]
Starts its own deployment on free ports with departments that answer at once, runs N
enterprise openings (one task, then five in parallel) through the whole path, and N
workflows of the same shape whose tasks are plain activities; ROUNDS times (default 3), each
on a fresh deployment; prints one JSON line with the medians and the ratios of the medians.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from infra.services import Deployment
from infra.settings import Settings
from one_things import Applicant, form_model, load_catalogue, plan
from orchestrator.cli.demo import APPLICATIONS
from orchestrator.client import connect
from orchestrator.workflow.models import ApplicationInput
from orchestrator.workflow.workflow import OneThingWorkflow
from tests.bench.bare import BareShapeWorkflow, handle_directly
from tests.conftest import portal_client, stack_settings

ENTERPRISE = next(a.body for a in APPLICATIONS if a.label == "enterprise opening")


async def measure(n: int, one: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    latencies: list[float] = []

    async def timed(i: int) -> None:
        started = time.perf_counter()
        await one(i)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(timed(i) for i in range(n)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "apps_per_s": round(n / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000),
        "wall_s": round(wall, 2),
    }


async def one_round(n: int, settings: Settings) -> dict[str, dict[str, float]]:
    """Every variant once on one deployment: warm-up, then N applications each."""
    client: Client = await connect(settings)
    one_thing = load_catalogue().get("enterprise_opening")
    snapshot = plan(
        one_thing,
        Applicant.model_validate(ENTERPRISE["applicant"]),
        form_model(one_thing).model_validate(ENTERPRISE["form"]),
    )
    stages = [["business_registration"], [t.task_id for t in snapshot.tasks if t.depends_on]]

    async def full_path(_: int) -> None:
        app_id = f"bench-{uuid.uuid4().hex}"
        inp = ApplicationInput(application_id=app_id, plan=snapshot, submitted_at=datetime.now(UTC))
        result = await client.execute_workflow(
            OneThingWorkflow.run, inp, id=app_id, task_queue=settings.task_queue
        )
        assert result.status.value == "approved", result.reason

    async def bare(_: int) -> None:
        await client.execute_workflow(
            BareShapeWorkflow.run,
            stages,
            id=f"bare-{uuid.uuid4().hex}",
            task_queue="bench-bare",
        )

    http = portal_client(settings, timeout=60)

    async def via_api(_: int) -> None:
        response = await http.post("/v1/applications", json=ENTERPRISE)
        assert response.status_code == 201, response.text
        handle = client.get_workflow_handle_for(OneThingWorkflow.run, response.json()["id"])
        assert (await handle.result()).status.value == "approved"

    variants = {"bare": bare, "full_path": full_path, "via_api": via_api}
    async with Worker(
        client, task_queue="bench-bare", workflows=[BareShapeWorkflow], activities=[handle_directly]
    ):
        for one in variants.values():
            await measure(10, one)
        results = {name: await measure(n, one) for name, one in variants.items()}
    await http.aclose()
    return results


def summary(n: int, rounds: list[dict[str, dict[str, float]]]) -> dict[str, object]:
    out: dict[str, object] = {"n_apps": n, "rounds": len(rounds), "tasks_per_app": 6}
    medians = {}
    for name in rounds[0]:
        rates = [r[name]["apps_per_s"] for r in rounds]
        medians[name] = statistics.median(rates)
        out[name] = {
            "apps_per_s_median": medians[name],
            "apps_per_s": rates,
            "p50_ms_median": statistics.median(r[name]["p50_ms"] for r in rounds),
        }
    for name in ("full_path", "via_api"):
        out[f"ratio_{name}"] = round(medians[name] / medians["bare"], 2)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = []
    for _ in range(rounds):  # a fresh deployment each round: the embedded broker slows as it grows
        state = Path(tempfile.mkdtemp(prefix="onething-bench-"))
        settings = stack_settings(state, sim_latency={}, sim_default_latency=0.0)
        deployment = Deployment(settings)
        try:
            deployment.up()
            results.append(asyncio.run(one_round(n, settings)))
        finally:
            deployment.down()
            shutil.rmtree(state, ignore_errors=True)
    print(json.dumps(summary(n, results)))


if __name__ == "__main__":
    main()
