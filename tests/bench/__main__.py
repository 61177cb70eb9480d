"""`make bench`: OneThing beside bare Temporal, every figure measured in the same round.

Usage: python -m tests.bench [ROUNDS]   (BENCH_SCALE=large: 10,000 waiting in the drain;
BENCH_SCALE=smoke: a minute's check that every step runs)
Each step of a round on a fresh deployment (departments answering at once; nhc's system left
out, the bench answers as nhc) with the bare worker in a process of its own beside it. Writes
bench.json, bench.md and PNG charts to tests/bench/results/ and prints the Markdown table.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client

from infra.services import Deployment
from infra.settings import Settings
from orchestrator.client import connect
from orchestrator.worker import EAGER_ACTIVITIES
from tests.bench import drain, hops, intake, measure, report, throughput
from tests.bench.bare import bare_worker
from tests.bench.department import bench_deployment

T = TypeVar("T")
SCALES = {  # applications at once, submissions, unloaded, per plan size, one by one, waiting
    "smoke": {"opening": 10, "intake": 20, "hops": 3, "by_tasks": 5, "path": 2, "drain": 50},
    "small": {
        "opening": 200,
        "intake": 300,
        "hops": 30,
        "by_tasks": 100,
        "path": 20,
        "drain": 2000,
    },
    "large": {
        "opening": 200,
        "intake": 300,
        "hops": 30,
        "by_tasks": 100,
        "path": 20,
        "drain": 10000,
    },
}
RESULTS = Path(__file__).parent / "results"
# each on a deployment of its own: the embedded broker costs more the more data it keeps
# (0.2 → 8 ms of CPU per record from 0 to 66 MB), which Apache Kafka does not
STEPS = ("opening", "intake", "hops", "by_tasks", "critical_path", "drain")


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def step(name: str, work: Awaitable[T]) -> T:
    progress(f"  {name}…")
    started = time.perf_counter()
    result = await work
    progress(f"  {name}: {time.perf_counter() - started:.0f} s")
    return result


async def one_step(name: str, scale: dict[str, int], deployment: Deployment, turn: int) -> Any:
    """One step on its deployment; its OneThing and bare halves run in the order `turn` gives
    (`measure.in_turn`)."""
    settings = deployment.settings
    client = await connect(settings)
    bare = await Client.connect(settings.temporal)
    with bare_worker(settings) as worker:
        pids = {process: pid for process, pid in deployment.status().items() if pid is not None}
        pids["bare"] = worker.process.pid
        halves = {
            "hops": {
                "onething": lambda: hops.onething_hops(scale["hops"], settings, client),
                "bare": lambda: hops.bare_hops(scale["hops"], bare),
            },
            "drain": {
                "onething": lambda: drain.onething(scale["drain"], settings, client, pids),
                "bare": lambda: drain.bare(scale["drain"], bare, worker, pids),
            },
        }
        if name in halves:
            return {
                half: await step(f"{name}: {half}", halves[name][half]())
                for half in measure.in_turn(turn, list(halves[name]))
            }
        whole = {
            "opening": lambda: throughput.opening(
                scale["opening"], settings, client, bare, pids, turn
            ),
            "intake": lambda: intake.intake(scale["intake"], settings, client, bare, turn),
            "by_tasks": lambda: throughput.by_tasks(
                scale["by_tasks"], settings, client, bare, turn
            ),
            "critical_path": lambda: throughput.critical_path(scale["path"], settings, client),
        }
        return await step(name, whole[name]())


def on_fresh_deployment(name: str, scale: dict[str, int], turn: int) -> tuple[Any, float]:
    """The step's figures, and the MiB the embedded broker kept by its end."""
    with bench_deployment("onething-bench-") as deployment:
        figures = asyncio.run(one_step(name, scale, deployment, turn))
        kept = measure.du_mib(deployment.settings.state_dir / "data" / "kafka")
        return figures, round(kept, 1)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    scale_name = os.environ.get("BENCH_SCALE", "small")
    scale = SCALES[scale_name]
    results: list[dict[str, Any]] = []
    for i in range(rounds):
        progress(f"round {i + 1} of {rounds} ({scale_name}: {scale})")
        measured: dict[str, Any] = {"broker_mib": {}}
        for name in STEPS:
            measured[name], measured["broker_mib"][name] = on_fresh_deployment(name, scale, i)
        results.append(measured)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "rounds.json").write_text(json.dumps(results, indent=1))  # kept if one fails
    used = {
        "scale": scale_name,
        **scale,
        "rounds": rounds,
        "cores": os.cpu_count(),
        "eager_activities": EAGER_ACTIVITIES,  # both workers'
        "cached_runs": Settings().worker_cached_runs,
    }
    document = report.write(results, used, report.installed(), RESULTS)
    print(report.markdown(document))


if __name__ == "__main__":
    main()
