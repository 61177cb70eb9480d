"""Per-hop latency when unloaded: one enterprise opening at a time, through the API, its hops
read off the broker's timestamps and the workflow's history; beside bare Temporal's.

OneThing: intake → workflow started; dispatch (the workflow task that decides it) → command
on the topic; command → result on `dept.results`; result → activity completed; completed →
next dispatch. Bare: start → started; dispatch → activity started; started → completed;
completed → next dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from aiokafka import AIOKafkaConsumer
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from events import topics
from infra.settings import Settings
from orchestrator.workflow.models import Progress
from orchestrator.workflow.names import AWAIT_ANSWER
from tests.bench.bare import QUEUE, BareShapeWorkflow
from tests.bench.department import at_the_end
from tests.bench.measure import spread
from tests.bench.throughput import OPENING, opening_plan, stages
from tests.conftest import portal_client

Seen = dict[tuple[str, str], float]  # (application, task) → when it was on the topic


def at(event: HistoryEvent) -> float:
    return float(event.event_time.ToMicroseconds()) / 1e6


class Steps:
    """A history's activities: when each was decided, started and completed, by its id."""

    def __init__(self, history: WorkflowHistory, activity_type: str) -> None:
        by_id = {e.event_id: e for e in history.events}
        self.started_at = at(history.events[0])
        self.decided: dict[str, float] = {}
        self.begun: dict[str, float] = {}
        self.done: dict[str, float] = {}
        ids: dict[int, str] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled = event.activity_task_scheduled_event_attributes
                if scheduled.activity_type.name != activity_type:
                    continue
                ids[event.event_id] = scheduled.activity_id
                completed = by_id[scheduled.workflow_task_completed_event_id]
                decided = by_id[completed.workflow_task_completed_event_attributes.started_event_id]
                self.decided[scheduled.activity_id] = at(decided)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                scheduled_id = event.activity_task_started_event_attributes.scheduled_event_id
                if scheduled_id in ids:
                    self.begun[ids[scheduled_id]] = at(event)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                scheduled_id = event.activity_task_completed_event_attributes.scheduled_event_id
                if scheduled_id in ids:
                    self.done[ids[scheduled_id]] = at(event)

    def next_dispatch(self, first: str) -> float:
        """From the first stage's completion to the decision to dispatch the next."""
        return min(t for a, t in self.decided.items() if a != first) - self.done[first]


@asynccontextmanager
async def watching(settings: Settings, names: list[str]) -> AsyncIterator[tuple[Seen, Seen]]:
    """Commands (handle) and results on the broker from now on, with their timestamps."""
    commands: Seen = {}
    results: Seen = {}

    async def read(consumer: AIOKafkaConsumer) -> None:
        async for record in consumer:
            data = orjson.loads(record.value)["data"]
            key = (str(data.get("application_id")), str(data.get("task_id")))
            if record.topic == topics.RESULTS:
                results.setdefault(key, record.timestamp / 1000)
            elif data.get("action") == "handle":
                commands.setdefault(key, record.timestamp / 1000)

    wanted = [topics.RESULTS, *(topics.department_tasks(d) for d in names)]
    async with at_the_end(settings, *wanted) as consumer:
        reader = asyncio.create_task(read(consumer))
        try:
            yield commands, results
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def onething_hops(n: int, settings: Settings, client: Client) -> dict[str, object]:
    snapshot = opening_plan()
    first = next(t.task_id for t in snapshot.tasks if not t.depends_on)
    hops: defaultdict[str, list[float]] = defaultdict(list)  # in the order of the hops
    http = portal_client(settings, timeout=60)
    departments = sorted({t.department for t in snapshot.tasks})
    async with watching(settings, departments) as (commands, results):
        for _ in range(n):
            posted = time.time()
            response = await http.post("/v1/applications", json=OPENING)
            assert response.status_code == 201, response.text
            app_id = response.json()["id"]
            handle = client.get_workflow_handle(app_id, result_type=Progress)
            assert (await handle.result()).status.value == "approved"
            await asyncio.sleep(0.2)  # the last result's record reaches the watcher
            steps = Steps(await handle.fetch_history(), AWAIT_ANSWER)
            hops["intake_to_start"].append(steps.started_at - posted)
            for activity_id, decided in steps.decided.items():
                key = (app_id, activity_id.split(":")[0])
                hops["dispatch_to_command"].append(commands[key] - decided)
                hops["command_to_result"].append(results[key] - commands[key])
                hops["result_to_completed"].append(steps.done[activity_id] - results[key])
            hops["completed_to_next_dispatch"].append(steps.next_dispatch(f"{first}:handle:1"))
    await http.aclose()
    return {name: spread(values) for name, values in hops.items()}


async def bare_hops(n: int, bare: Client) -> dict[str, object]:
    snapshot = opening_plan()
    hops: defaultdict[str, list[float]] = defaultdict(list)  # in the order of the hops
    for _ in range(n):
        called = time.time()
        handle = await bare.start_workflow(
            BareShapeWorkflow.run, stages(snapshot), id=f"bare-{uuid.uuid4().hex}", task_queue=QUEUE
        )
        await handle.result()
        steps = Steps(await handle.fetch_history(), "handle_directly")
        hops["start_to_started"].append(steps.started_at - called)
        for activity_id, decided in steps.decided.items():
            hops["dispatch_to_started"].append(steps.begun[activity_id] - decided)
            hops["started_to_completed"].append(steps.done[activity_id] - steps.begun[activity_id])
        hops["completed_to_next_dispatch"].append(steps.next_dispatch("1"))
    return {name: spread(values) for name, values in hops.items()}
