"""How the bench measures: rates and latencies of concurrent runs, resident memory, and the
Temporal actions a workflow's history counts."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

T = TypeVar("T")


def in_turn(turn: int, items: Sequence[T]) -> list[T]:
    """`items` rotated by `turn`: over as many rounds as items, each runs once in every place,
    so that drift in the machine's speed or in the broker's state falls on each alike."""
    k = turn % len(items)
    return [*items[k:], *items[:k]]


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))] if ordered else float("nan")


def spread(values: Iterable[float]) -> dict[str, float]:
    """p50 and p99 of values in seconds, in milliseconds."""
    listed = list(values)
    return {
        "p50_ms": round(statistics.median(listed) * 1000, 1) if listed else float("nan"),
        "p99_ms": round(percentile(listed, 0.99) * 1000, 1),
        "n": len(listed),
    }


async def bounded(n: int, one: Callable[[int], Awaitable[object]], at_once: int = 50) -> None:
    gate = asyncio.Semaphore(at_once)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    await asyncio.gather(*(gated(i) for i in range(n)))


async def rate(
    n: int, one: Callable[[int], Awaitable[object]], at_once: int = 0
) -> dict[str, float]:
    """N runs of `one` (all at once, or `at_once` at a time): per second, p50 and p99."""
    latencies: list[float] = []

    async def timed(i: int) -> None:
        started = time.perf_counter()
        await one(i)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await bounded(n, timed, at_once or n)
    wall = time.perf_counter() - started
    return {"per_s": round(n / wall, 1), "wall_s": round(wall, 2), **spread(latencies)}


async def until_none_running(client: Client, workflow_type: str, timeout: float = 1800) -> None:
    query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count and time.monotonic() < deadline:
        await asyncio.sleep(0.25)


async def terminate_running(client: Client, workflow_type: str) -> int:
    query = f"WorkflowType = '{workflow_type}' AND ExecutionStatus = 'Running'"
    ids = [wf.id async for wf in client.list_workflows(query)]
    await bounded(len(ids), lambda i: client.get_workflow_handle(ids[i]).terminate("bench"))
    return len(ids)


def children(pid: int) -> list[int]:
    found = []
    for thread in Path(f"/proc/{pid}/task").iterdir():
        listed = thread / "children"
        found += [int(c) for c in listed.read_text().split()] if listed.exists() else []
    return found


def rss_mib(pid: int) -> float:
    """Resident memory of a process with its children."""
    total = 0.0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                total = int(line.split()[1]) / 1024
    return round(total + sum(rss_mib(child) for child in children(pid)), 1)


def du_mib(folder: Path) -> float:
    """What the files under `folder` take, in MiB."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process and its living children have used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children(pid))


class CpuMeter:
    """Each process's CPU milliseconds per run from now on."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def per_run(self, n: int) -> dict[str, float]:
        return {
            name: round((cpu_seconds(pid) - self._before[name]) * 1000 / n, 1)
            for name, pid in self._pids.items()
        }


async def cpu_per_run(
    n: int, one: Callable[[int], Awaitable[object]], pids: dict[str, int]
) -> dict[str, object]:
    """`rate` of N runs at once, with each process's CPU milliseconds per run."""
    meter = CpuMeter(pids)
    measured = await rate(n, one)
    return {**measured, "cpu_ms": meter.per_run(n)}


# What Temporal Cloud bills as an action, as the history shows it (queries, heartbeats and
# workflow-task heartbeats are actions too, but leave no event: the note says so).
LOCAL_ACTIVITY_MARKER = "core_local_activity"
BILLED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "workflow started",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_MARKER_RECORDED: "local activity",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child workflow",
}


def actions(history: WorkflowHistory) -> dict[str, int]:
    """The billed actions of one history, by kind, and their total."""
    counted: dict[str, int] = {}
    for event in history.events:
        kind = BILLED.get(event.event_type)
        if kind == "local activity" and event.marker_recorded_event_attributes.marker_name != (
            LOCAL_ACTIVITY_MARKER
        ):
            kind = "patch marker"  # a versioning marker (`workflow.patched`), once per run
        if kind is not None:
            counted[kind] = counted.get(kind, 0) + 1
    return {**counted, "total": sum(counted.values())}
