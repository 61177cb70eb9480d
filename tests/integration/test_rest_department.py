"""The REST adapter against a real HTTP department system with its records in SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
import uvicorn

from adapters.rest import RestDepartment
from adapters.simulation.engine import SimulatedDepartment
from adapters.simulation.service import create_department_app
from adapters.simulation.spec import load_specs
from events import Outcome
from infra.supervisor import free_port
from one_things import load_catalogue
from tests.factories import task_command


@pytest_asyncio.fixture
async def slow_hpf(tmp_path: Path) -> AsyncIterator[str]:
    """An hpf system that records the work, then answers after 1 s (past the client's 0.3 s)."""
    catalogue = load_catalogue()
    hpf = SimulatedDepartment(load_specs(catalogue)["hpf"], catalogue, latency=0)
    app = create_department_app(hpf, tmp_path / "hpf.db", slow_answer=1.0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await serving


async def test_a_department_that_times_out_after_the_work_creates_one_record(
    slow_hpf: str,
) -> None:
    command = task_command(
        application_id="ot-rest",
        task_id="housing_fund",
        matter="housing_fund",
        department="hpf",
        reply_token="r1",
    )
    calls: list[httpx.Request] = []

    async def count(request: httpx.Request) -> None:
        calls.append(request)

    hooks = {"request": [count]}
    async with httpx.AsyncClient(base_url=slow_hpf, timeout=0.3, event_hooks=hooks) as client:
        result = await RestDepartment("hpf", client, backoff=0.05).handle(command)
        records = (await client.get("/records", timeout=5)).json()["records"]
    assert len([c for c in calls if c.method == "POST"]) >= 2  # the first call timed out
    assert result is not None and result.outcome is Outcome.APPROVED
    assert result.outputs["housing_fund_account"].startswith("HPF-")
    assert records == 1
