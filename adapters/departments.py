"""The departments process: an adapter for every department, all on one consumer.

A department listed in `ONETHING_REST_DEPARTMENTS` is called at its own HTTP system; one in
`ONETHING_FILE_DEPARTMENTS` trades files in its folder; one in `ONETHING_SIM_SKIP` runs its
own Kafka-native system; every other one is called over HTTP at its simulated system
(`onething simulators`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from adapters import metrics
from adapters.base import DepartmentAdapter
from adapters.breaker import CircuitBreaker
from adapters.rest import RestDepartment
from adapters.runtime import AdapterRuntime
from infra import kafka
from infra.connections import department_client
from infra.health import Health, consumer_assigned, kafka_reachable
from infra.logging import get_logger
from infra.loops import run_until_stopped
from infra.settings import Settings
from one_things.loader import load_catalogue

if TYPE_CHECKING:
    from adapters.file_exchange import AnswerCollector

log = get_logger(__name__)


def department_urls(settings: Settings, departments: list[str]) -> dict[str, str]:
    """Where each HTTP department system answers: its own, or its simulator."""
    return {
        d: settings.rest_departments.get(d, f"{settings.simulators_url}/{d}")
        for d in departments
        if d not in settings.file_departments
    }


def file_exchanges(
    settings: Settings, producer: kafka.Producer
) -> tuple[list[DepartmentAdapter], list[AnswerCollector]]:
    """The file-exchange departments, their ledger in the shared database (imported only when
    there are such departments: SQLAlchemy weighs 26 MiB in a process)."""
    if not settings.file_departments:
        return [], []
    from adapters.file_exchange import AnswerCollector, Exchange, FileExchangeDepartment
    from infra import database
    from infra.lease import Lease

    ledger = database.engine(database.url_of(settings, "file-exchange"))
    adapters: list[DepartmentAdapter] = []
    collectors = []
    for department, folder in settings.file_departments.items():
        exchange = Exchange(folder, ledger)
        lease = Lease(ledger, f"file-exchange:{department}", settings.instance_id)
        adapters.append(FileExchangeDepartment(department, exchange))
        collectors.append(AnswerCollector(department, exchange, producer, settings, lease))
    return adapters, collectors


async def run_departments(
    settings: Settings, only: list[str] | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run an adapter for every catalogue department (or those in `only`).

    Every replica of the departments process must run the same departments: they share one
    consumer group, which divides the partitions of all their topics among them."""
    catalogue = load_catalogue(settings.catalogue_dir)
    departments = [d for d in only or catalogue.departments() if d not in settings.sim_skip]
    if keyless := [d for d in departments if settings.answer_signing_key(d) is None]:
        log.warning("answers_unproven", departments=keyless, setting="department_signing_keys")
    kafka.pace_fetches(settings)
    producer = kafka.producer(settings)
    await producer.start()
    clients = {
        d: department_client(settings, d, url)
        for d, url in department_urls(settings, departments).items()
    }
    adapters: list[DepartmentAdapter] = [
        RestDepartment(
            d,
            c,
            breaker=CircuitBreaker(
                settings.rest_breaker_threshold, settings.rest_breaker_cool_down_seconds
            ),
        )
        for d, c in clients.items()
    ]
    file_adapters, collectors = file_exchanges(settings, producer)
    adapters += file_adapters
    runtime = AdapterRuntime(adapters, settings, producer)
    try:
        await runtime.start()
        health = Health(kafka=kafka_reachable(producer.reachable))
        if adapters:
            health.add("consumer", consumer_assigned(runtime.consumer))
        log.info("departments_started", departments=departments)
        await run_until_stopped(
            stop,
            runtime.run(),
            *(c.run() for c in collectors),
            health.serve(
                settings.host, settings.departments_health_port, {"/metrics": metrics.exposition}
            ),
        )
    finally:
        await runtime.stop()
        await producer.stop()
        for client in clients.values():
            await client.aclose()
