"""The departments process: an adapter for every department, on one runtime.

A department listed in `ONETHING_REST_DEPARTMENTS` is called over HTTP; one listed in
`ONETHING_SIM_SKIP` runs its own system (Kafka-native); every other one is simulated.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from adapters.base import DepartmentAdapter
from adapters.rest import RestDepartment
from adapters.runtime import AdapterRuntime
from adapters.simulator import SimulatedDepartment
from infra import kafka
from infra.logging import get_logger
from infra.settings import Settings
from infra.supervisor import Supervisor
from one_things.loader import load_catalogue

log = get_logger(__name__)


async def run_departments(
    settings: Settings, only: list[str] | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run an adapter for every catalogue department (or those in `only`)."""
    catalogue = load_catalogue(settings.catalogue_dir)
    departments = [d for d in only or catalogue.departments() if d not in settings.sim_skip]
    kafka.pace_fetches(settings)
    producer = kafka.producer(settings)
    await producer.start()
    clients = {
        d: httpx.AsyncClient(base_url=url, timeout=settings.rest_timeout_seconds)
        for d, url in settings.rest_departments.items()
    }
    adapters: list[DepartmentAdapter] = [
        RestDepartment(d, clients[d])
        if d in clients
        else SimulatedDepartment(d, catalogue, settings.latency(d))
        for d in departments
    ]
    runtime = AdapterRuntime(adapters, settings, producer, group_id="dept-local")
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
        for client in clients.values():
            await client.aclose()
