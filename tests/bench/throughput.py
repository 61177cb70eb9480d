"""Applications per second, each beside bare Temporal doing the same shape in the same round.

* the enterprise opening (one task, then five at once) through the whole path, started on
  Temporal and submitted through the API, departments answering at once;
* plans of 3, 6 and 12 tasks, the bench answering as their department, with the Temporal
  actions each application costs;
* completion ÷ critical path when the department takes a set time per task.
"""

from __future__ import annotations

import statistics
import time
import uuid

from temporalio.client import Client

from infra.settings import Settings
from one_things import Applicant, form_model, load_catalogue, plan
from one_things.plan import ExecutionPlan
from orchestrator.cli.demo import example
from orchestrator.workflow.models import Progress
from tests.bench.bare import QUEUE, BareShapeWorkflow
from tests.bench.department import BenchDepartment, fan_out_plan, start_application
from tests.bench.measure import actions, cpu_per_run, in_turn, rate
from tests.conftest import portal_client

OPENING = example("enterprise_opening")
TASK_COUNTS = (3, 6, 12)
SET_LATENCY = 0.25  # seconds the bench department takes per task, for the critical path


def opening_plan() -> ExecutionPlan:
    one_thing = load_catalogue().get("enterprise_opening")
    form = form_model(one_thing).model_validate(OPENING["form"])
    return plan(one_thing, Applicant.model_validate(OPENING["applicant"]), form)


def stages(snapshot: ExecutionPlan) -> list[list[str]]:
    first = [t.task_id for t in snapshot.tasks if not t.depends_on]
    return [first, [t.task_id for t in snapshot.tasks if t.depends_on]]


async def run_app(client: Client, settings: Settings, snapshot: ExecutionPlan) -> str:
    handle = await start_application(client, settings, snapshot)
    result = await handle.result()
    assert result.status.value == "approved", result.reason
    return handle.id


async def run_bare(bare: Client, snapshot: ExecutionPlan) -> str:
    workflow_id = f"bare-{uuid.uuid4().hex}"
    await bare.execute_workflow(
        BareShapeWorkflow.run, stages(snapshot), id=workflow_id, task_queue=QUEUE
    )
    return workflow_id


async def opening(
    n: int, settings: Settings, client: Client, bare: Client, pids: dict[str, int], turn: int = 0
) -> dict[str, object]:
    """Full path, via the API, and bare (in the order `turn` gives): N at once each, after a
    warm-up of 10, with the CPU time each process (`pids`) spent per application."""
    snapshot = opening_plan()
    http = portal_client(settings, timeout=120)

    async def via_api(_: int) -> None:
        response = await http.post("/v1/applications", json=OPENING)
        assert response.status_code == 201, response.text
        handle = client.get_workflow_handle(response.json()["id"], result_type=Progress)
        assert (await handle.result()).status.value == "approved"

    variants = {
        "bare": lambda _: run_bare(bare, snapshot),
        "full_path": lambda _: run_app(client, settings, snapshot),
        "via_api": via_api,
    }
    order = in_turn(turn, list(variants))
    try:
        for name in order:
            await rate(10, variants[name])
        return {name: await cpu_per_run(n, variants[name], pids) for name in order}
    finally:
        await http.aclose()


async def by_tasks(
    n: int, settings: Settings, client: Client, bare: Client, turn: int = 0
) -> dict[str, object]:
    """Plans of 3, 6 and 12 tasks, the bench their department: rate and actions per app."""
    async with BenchDepartment(settings).running():
        return {
            str(tasks): await _of_size(n, fan_out_plan(tasks), settings, client, bare, turn)
            for tasks in TASK_COUNTS
        }


async def _of_size(
    n: int, snapshot: ExecutionPlan, settings: Settings, client: Client, bare: Client, turn: int
) -> dict[str, object]:
    app_ids: list[str] = []
    bare_ids: list[str] = []

    async def full(_: int) -> None:
        app_ids.append(await run_app(client, settings, snapshot))

    async def twin(_: int) -> None:
        bare_ids.append(await run_bare(bare, snapshot))

    halves = {"full_path": full, "bare": twin}
    order = in_turn(turn, list(halves))
    for name in order:
        await rate(5, halves[name])
    rates = {name: await rate(n, halves[name]) for name in order}
    return {
        "full_path": rates["full_path"],
        "bare": rates["bare"],
        "actions": actions(await client.get_workflow_handle(app_ids[-1]).fetch_history()),
        "bare_actions": actions(await bare.get_workflow_handle(bare_ids[-1]).fetch_history()),
    }


async def critical_path(n: int, settings: Settings, client: Client) -> dict[str, float]:
    """One application at a time, each task taking SET_LATENCY: completion ÷ critical path."""
    snapshot = fan_out_plan(6)
    critical = 2 * SET_LATENCY  # the first task, then the others at once
    took = []
    async with BenchDepartment(settings, latency=SET_LATENCY).running():
        for _ in range(n):
            started = time.perf_counter()
            await run_app(client, settings, snapshot)
            took.append(time.perf_counter() - started)
    median = statistics.median(took)
    return {
        "critical_path_s": critical,
        "completion_p50_s": round(median, 3),
        "ratio": round(median / critical, 2),
    }
