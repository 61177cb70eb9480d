"""The departments process: one adapter runtime per department, all in one process."""

from __future__ import annotations

import asyncio
import contextlib

from adapters.base import DepartmentAdapter
from adapters.runtime import AdapterRuntime
from adapters.simulator import SimulatedDepartment
from infra import kafka
from infra.logging import get_logger
from infra.settings import Settings
from infra.supervisor import Supervisor
from one_things.loader import load_catalogue

log = get_logger(__name__)


async def run_simulated_departments(
    settings: Settings, only: list[str] | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run a simulated system for every catalogue department (or those in `only`)."""
    catalogue = load_catalogue(*([settings.catalogue_dir] if settings.catalogue_dir else []))
    departments = [d for d in only or catalogue.departments() if d not in settings.sim_skip]
    kafka.pace_fetches(settings)
    producer = kafka.producer(settings)
    await producer.start()
    simulators: list[DepartmentAdapter] = [
        SimulatedDepartment(d, catalogue, settings.latency(d)) for d in departments
    ]
    runtime = AdapterRuntime(simulators, settings, producer, group_id="dept-simulated")
    try:
        await runtime.start()
        loop = asyncio.create_task(runtime.run())
        log.info("departments_started", departments=departments)
        Supervisor(settings.state_dir).mark_ready("departments")
        await (stop or asyncio.Event()).wait()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    finally:
        await runtime.stop()
        await producer.stop()
