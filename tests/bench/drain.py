"""Drain: N applications waiting on one department, then all answered at once; beside N bare
workflows waiting on an asynchronously completed activity, then all completed at once.

The resident memory of every process is sampled as the applications come in (against the
number in flight), for OneThing's processes and for the bare worker's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from temporalio.client import Client

from events import topics
from events.envelope import HEADERS
from infra import kafka
from infra.services import SERVICES
from infra.settings import Settings
from infra.supervisor import Supervisor
from one_things import Applicant, form_model, load_catalogue, plan
from one_things.plan import ExecutionPlan
from orchestrator.cli.demo import example
from tests.bench.bare import QUEUE, BareWaitWorkflow, BareWorker
from tests.bench.department import approval, command_reader, handling, start_application
from tests.bench.measure import CpuMeter, bounded, rss_mib, until_none_running

SAMPLES = 5  # memory samples as the applications come in


def childcare_plan() -> ExecutionPlan:
    one_thing = load_catalogue().get("childcare_subsidy")
    body = example("childcare_subsidy")
    form = form_model(one_thing).model_validate(body["form"])
    return plan(one_thing, Applicant.model_validate(body["applicant"]), form)


async def growing(
    n: int, start: Callable[[int], Awaitable[object]], memory: Callable[[], dict[str, float]]
) -> list[dict[str, float]]:
    """Start N in chunks, sampling memory after each chunk: [{in_flight, rss…}, …]."""
    samples = [{"in_flight": 0, **memory()}]
    chunk = max(n // SAMPLES, 1)
    for done in range(0, n, chunk):
        size = min(chunk, n - done)

        async def next_of_chunk(i: int, done: int = done) -> object:
            return await start(done + i)

        await bounded(size, next_of_chunk)
        await asyncio.sleep(1.0)  # the workflows have run their first task
        samples.append({"in_flight": done + size, **memory()})
    return samples


async def onething(
    n: int, settings: Settings, client: Client, pids: dict[str, int]
) -> dict[str, object]:
    snapshot = childcare_plan()
    supervisor = Supervisor(settings.state_dir)

    def memory() -> dict[str, float]:
        return {
            name: rss_mib(pid) for name in SERVICES if (pid := supervisor.pid(name)) is not None
        }

    async def start(_: int) -> None:
        await start_application(client, settings, snapshot)

    waiting: list[dict[str, object]] = []
    async with command_reader(settings) as consumer:
        samples = await growing(n, start, memory)
        while len(waiting) < n:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                waiting += [c for c in (handling(rec.value) for rec in records) if c]
    answers = [approval(settings, command, i) for i, command in enumerate(waiting)]
    producer = kafka.producer(settings)
    await producer.start()
    meter = CpuMeter(pids)
    started = time.perf_counter()

    def answer(i: int) -> Awaitable[None]:
        key = str(waiting[i]["application_id"]).encode()
        return producer.send(topics.RESULTS, answers[i], key=key, headers=HEADERS)

    try:  # 10,000 sends at once outwait the producer's buffer: 500 in flight keep it full
        await bounded(n, answer, at_once=500)
    finally:
        await producer.stop()
    await until_none_running(client, "OneThingWorkflow")
    elapsed = time.perf_counter() - started
    return {
        "ended_per_s": round(n / elapsed, 1),
        "drain_s": round(elapsed, 1),
        "memory": samples,
        "cpu_ms": meter.per_run(n),
    }


async def bare(
    n: int, bare_client: Client, worker: BareWorker, pids: dict[str, int]
) -> dict[str, object]:
    ids = [f"bare-{uuid.uuid4().hex}" for _ in range(n)]

    async def start(i: int) -> None:
        await bare_client.start_workflow(BareWaitWorkflow.run, id=ids[i], task_queue=QUEUE)

    worker.tokens.clear()  # the submissions' bare twins waited too: they are ended
    samples = await growing(n, start, lambda: {"worker": rss_mib(worker.process.pid)})
    while len(worker.tokens) < n:  # as OneThing's side waits for every command on the topic
        await asyncio.sleep(0.1)
    meter = CpuMeter(pids)
    started = time.perf_counter()

    async def complete(i: int) -> None:
        await bare_client.get_async_activity_handle(task_token=worker.tokens[i]).complete(
            "approved"
        )

    await bounded(n, complete)
    await until_none_running(bare_client, "BareWaitWorkflow")
    elapsed = time.perf_counter() - started
    return {
        "ended_per_s": round(n / elapsed, 1),
        "drain_s": round(elapsed, 1),
        "memory": samples,
        "cpu_ms": meter.per_run(n),
    }
