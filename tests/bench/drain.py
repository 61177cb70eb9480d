"""Drain: N applications waiting on one department, then all answered at once.

Usage: python -m tests.bench.drain [N] [ROUNDS]
Each round on a fresh deployment whose nhc has no adapter (the bench is nhc): N childcare
subsidies (one task) are started and their commands read off `dept.nhc.tasks`; the resident
memory of every process is taken while they wait; then N approvals go onto `dept.results` at
once and the time until every workflow has ended is measured. Its bare twin, in the same
round: N workflows waiting on one asynchronously completed activity, completed at once.
Prints one JSON line: ended per second for both, their ratio, and the memory figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client
from temporalio.worker import Worker

from events import TaskResult, dumps, topics, wrap
from events.contracts import Outcome
from events.envelope import HEADERS
from infra import kafka
from infra.services import SERVICES, Deployment
from infra.settings import Settings
from infra.supervisor import Supervisor
from one_things import Applicant, form_model, load_catalogue, plan
from orchestrator.cli.demo import example
from orchestrator.client import connect
from orchestrator.workflow.models import ApplicationInput
from orchestrator.workflow.workflow import OneThingWorkflow
from tests.bench.bare import TOKENS, BareWaitWorkflow, wait_for_department
from tests.conftest import stack_settings
from tests.e2e.helpers import proven_by

DEPARTMENT = "nhc"


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return -1.0


def tree_rss_mib(pid: int) -> float:
    """A service's resident memory with its children (`onething departments` forks none,
    but a supervisor's process group may)."""
    total = rss_mib(pid)
    for child in Path(f"/proc/{pid}/task").iterdir():
        children = child / "children"
        for grandchild in children.read_text().split() if children.exists() else []:
            total += tree_rss_mib(int(grandchild))
    return round(total, 1)


async def bounded(n: int, one: Callable[[int], Awaitable[None]], at_once: int = 50) -> None:
    gate = asyncio.Semaphore(at_once)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(gated(i) for i in range(n)))


async def until_none_running(client: Client, workflow_type: str, timeout: float = 600) -> None:
    query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count and time.monotonic() < deadline:
        await asyncio.sleep(0.25)


async def commands(settings: Settings, n: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        topics.department_tasks(DEPARTMENT),
        bootstrap_servers=settings.kafka,
        group_id=f"bench-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: dict[str, dict[str, object]] = {}
    try:
        while len(found) < n:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    command = orjson.loads(record.value)["data"]
                    found[str(command["application_id"])] = command
    finally:
        await consumer.stop()
    return list(found.values())


async def full_path(n: int, settings: Settings, client: Client) -> dict[str, float]:
    one_thing = load_catalogue().get("childcare_subsidy")
    body = example("childcare_subsidy")
    snapshot = plan(
        one_thing,
        Applicant.model_validate(body["applicant"]),
        form_model(one_thing).model_validate(body["form"]),
    )

    async def start(_: int) -> None:
        app_id = f"ot-{uuid.uuid4().hex}"
        inp = ApplicationInput(application_id=app_id, plan=snapshot, submitted_at=datetime.now(UTC))
        await client.start_workflow(
            OneThingWorkflow.run, inp, id=app_id, task_queue=settings.task_queue
        )

    await bounded(n, start)
    waiting = await commands(settings, n)
    supervisor = Supervisor(settings.state_dir)
    memory = {
        f"rss_{name}_mib": tree_rss_mib(pid)
        for name in SERVICES
        if (pid := supervisor.pid(name)) is not None
    }
    answers = [
        dumps(
            wrap(
                proven_by(
                    TaskResult(
                        application_id=str(c["application_id"]),
                        task_id=str(c["task_id"]),
                        attempt=int(str(c["attempt"])),
                        department=DEPARTMENT,
                        reply_token=str(c["reply_token"]),
                        outcome=Outcome.APPROVED,
                        outputs={"subsidy_ref": f"NHC-{i}"},
                    ),
                    settings,
                    DEPARTMENT,
                )
            )
        )
        for i, c in enumerate(waiting)
    ]
    producer = kafka.producer(settings)
    await producer.start()
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(
                producer.send(
                    topics.RESULTS, a, key=str(c["application_id"]).encode(), headers=HEADERS
                )
                for a, c in zip(answers, waiting, strict=True)
            )
        )
    finally:
        await producer.stop()
    await until_none_running(client, "OneThingWorkflow")
    elapsed = time.perf_counter() - started
    return {"ended_per_s": round(n / elapsed, 1), "drain_s": round(elapsed, 1), **memory}


async def bare(n: int, client: Client) -> dict[str, float]:
    TOKENS.clear()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    async with Worker(
        client,
        task_queue="bench-bare-drain",
        workflows=[BareWaitWorkflow],
        activities=[wait_for_department],
    ):

        async def start(_: int) -> None:
            await client.start_workflow(
                BareWaitWorkflow.run, id=f"bare-{uuid.uuid4().hex}", task_queue="bench-bare-drain"
            )

        await bounded(n, start)
        while len(TOKENS) < n:
            await asyncio.sleep(0.2)
        worker_rss = rss_mib(os.getpid())
        started = time.perf_counter()

        async def complete(i: int) -> None:
            await client.get_async_activity_handle(task_token=TOKENS[i]).complete("approved")

        await bounded(n, complete)
        await until_none_running(client, "BareWaitWorkflow")
        elapsed = time.perf_counter() - started
    return {
        "ended_per_s": round(n / elapsed, 1),
        "drain_s": round(elapsed, 1),
        "rss_bench_process_mib": worker_rss,
        "rss_before_mib": round(before, 1),
    }


async def one_round(n: int, settings: Settings) -> dict[str, dict[str, float]]:
    client = await connect(settings)
    return {"full_path": await full_path(n, settings, client), "bare": await bare(n, client)}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = []
    for i in range(rounds):
        state = Path(tempfile.mkdtemp(prefix="onething-drain-"))
        settings = stack_settings(state, sim_skip=[DEPARTMENT], sim_latency={})
        deployment = Deployment(settings)
        try:
            deployment.up()
            results.append(asyncio.run(one_round(n, settings)))
            print(f"round {i + 1}: {json.dumps(results[-1])}", file=sys.stderr, flush=True)
        finally:
            deployment.down()
            shutil.rmtree(state, ignore_errors=True)
    medians = {
        variant: statistics.median(r[variant]["ended_per_s"] for r in results)
        for variant in ("full_path", "bare")
    }
    print(
        json.dumps(
            {
                "n_waiting": n,
                "rounds": rounds,
                "ended_per_s_median": medians,
                "ratio_drain": round(medians["full_path"] / medians["bare"], 2),
                "rounds_detail": results,
            }
        )
    )


if __name__ == "__main__":
    main()
