"""Submissions per second: `POST /v1/applications` beside a bare `start_workflow`, 32 at a time.

The applications submitted wait on the bench's department (nobody answers them), as the
bare twins wait on an activity; both are ended after the measure.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.bench.bare import QUEUE, BareWaitWorkflow
from tests.bench.measure import in_turn, rate, terminate_running
from tests.conftest import portal_client

AT_ONCE = 32
CHILDCARE = example("childcare_subsidy")  # one task, at the bench's department


async def intake(
    n: int, settings: Settings, client: Client, bare: Client, turn: int = 0
) -> dict[str, dict[str, float]]:
    http = portal_client(settings, timeout=120)

    async def post(_: int) -> None:
        response = await http.post("/v1/applications", json=CHILDCARE)
        assert response.status_code == 201, response.text

    async def start(_: int) -> None:
        await bare.start_workflow(
            BareWaitWorkflow.run, id=f"bare-{uuid.uuid4().hex}", task_queue=QUEUE
        )

    halves = {"via_api": post, "bare": start}
    order = in_turn(turn, list(halves))
    try:
        for name in order:
            await rate(10, halves[name], AT_ONCE)
        measured = {name: await rate(n, halves[name], AT_ONCE) for name in order}
    finally:
        await http.aclose()
        await terminate_running(client, "OneThingWorkflow")
        await terminate_running(bare, "BareWaitWorkflow")
    return measured
