"""The bare-Temporal references: the least the same shapes cost on Temporal alone.

Their worker runs as a process of its own (`python -m tests.bench.bare HOST:PORT EAGER`), as
OneThing's does, so both are measured alike: rate, latency and resident memory. It talks to
Temporal with the SDK's defaults (no codec, no interceptors), but for the one tuning of
Temporal's own that OneThing's worker makes: as many activities started eagerly per workflow
task (`EAGER_ACTIVITIES`), so that the reference gains what Temporal gains, too.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow

if TYPE_CHECKING:  # the bare worker's process loads none of our modules
    from infra.settings import Settings

QUEUE = "bench-bare"


@activity.defn
async def handle_directly(task: str) -> str:
    return f"done:{task}"


@workflow.defn
class BareShapeWorkflow:
    """Stages of tasks: every task of a stage at once, as plain activities (no Kafka)."""

    @workflow.run
    async def run(self, stages: list[list[str]]) -> int:
        done = 0
        for stage in stages:
            results = await asyncio.gather(
                *[
                    workflow.execute_activity(
                        handle_directly, t, start_to_close_timeout=timedelta(seconds=30)
                    )
                    for t in stage
                ]
            )
            done += len(results)
        return done


@activity.defn(name="wait_for_department")
async def wait_for_department() -> str:
    # the bench reads the task tokens, as a department reads OneThing's commands off the topic
    print(base64.b64encode(activity.info().task_token).decode(), flush=True)
    activity.raise_complete_async()


@workflow.defn
class BareWaitWorkflow:
    """One task that waits for an asynchronous completion: the least a waiting task costs."""

    @workflow.run
    async def run(self) -> str:
        return str(
            await workflow.execute_activity(
                "wait_for_department", schedule_to_close_timeout=timedelta(hours=1)
            )
        )


class BareWorker:
    """The bare worker's process, and how many of its activities wait to be completed."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.tokens: list[bytes] = []
        self._reader = threading.Thread(target=self._count, daemon=True)
        self._reader.start()

    def _count(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.tokens.append(base64.b64decode(line.strip()))


@contextmanager
def bare_worker(settings: Settings) -> Iterator[BareWorker]:
    """The bare worker's process, polling `QUEUE` until the block ends; it starts activities
    eagerly and keeps runs in memory as our worker does."""
    from orchestrator.worker import EAGER_ACTIVITIES  # here: the reference loads none of ours

    tuning = [str(EAGER_ACTIVITIES), str(settings.worker_cached_runs)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bare", settings.temporal, *tuning],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        yield BareWorker(process)
    finally:
        process.terminate()
        process.wait(30)


async def _serve(address: str, eager: int, cached_runs: int) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[BareShapeWorkflow, BareWaitWorkflow],
        activities=[handle_directly, wait_for_department],
        max_eager_activity_reservations_per_workflow_task=eager,
        max_cached_workflows=cached_runs,
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
