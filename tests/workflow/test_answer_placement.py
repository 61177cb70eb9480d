"""An answer that finds no waiting activity, while its workflow cannot say whether it still
waits for one, is kept for an operator: never counted stale and dropped on a guess."""

from __future__ import annotations

import uuid

import orjson
from temporalio.client import Client

from events import topics
from infra.kafka import Received
from infra.settings import Settings
from orchestrator.bridge.apply import ResultApplier
from tests.faults.scenarios import stale_approval


async def test_an_answer_its_busy_workflow_cannot_place_is_dead_lettered(
    client: Client, temporal_only: Settings
) -> None:
    # no worker polls this queue: the workflow records nothing and answers no query
    application_id = f"ot-{uuid.uuid4().hex}"
    handle = await client.start_workflow(
        "OneThingWorkflow", {}, id=application_id, task_queue=f"idle-{uuid.uuid4().hex}"
    )
    published: list[tuple[str, bytes]] = []

    async def publish(topic: str, key: bytes, value: bytes, headers: object) -> None:
        published.append((topic, value))

    applier = ResultApplier(client, publish, temporal_only, recording_grace=1.0)
    raw = stale_approval(temporal_only, application_id, handle.first_execution_run_id or "")
    try:
        await applier.apply(raw, Received(topics.RESULTS, 0, 7, application_id.encode()))
    finally:
        await handle.terminate("test over")

    assert applier.counters["stale"] == 0
    assert applier.counters["unplaced"] == 1
    [(topic, letter)] = published
    assert topic == topics.DLQ
    reason = orjson.loads(letter)["reason"]
    assert reason.startswith("answer not placed: the dispatch this answer names did not answer")
