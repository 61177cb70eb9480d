"""The results bridge: a Faust app that consumes dept.results and completes waiting activities,
and, when channels are configured, notifies applicants of each status from onething.status.

If its agent ever stops, the process exits non-zero (its supervisor restarts it): never a live
bridge that consumes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import faust
import httpx
from mode import CrashingSupervisor
from temporalio.client import Client

from events import topics
from infra import kafka
from infra.connections import faust_credentials
from infra.health import Health, temporal_reachable
from infra.logging import get_logger
from infra.settings import Settings
from orchestrator.bridge.apply import ResultApplier
from orchestrator.bridge.notify import Notifier
from orchestrator.client import connect
from orchestrator.ops.metrics import CONTENT_TYPE, bridge_counters, exposition

log = get_logger(__name__)
APP_ID = "onething-bridge"


def create_app(settings: Settings) -> faust.App:
    """The Faust app: one agent over dept.results, a metrics page, at-least-once."""
    app = faust.App(
        APP_ID,
        broker=";".join(f"kafka://{server}" for server in settings.kafka.split(",")),
        broker_credentials=faust_credentials(settings),
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        producer_compression_type=kafka.COMPRESSION,
        store="memory://",
        web_host=settings.host,
        web_port=settings.bridge_port,
        datadir=str(settings.state_dir / f"bridge-{settings.instance_id}"),
        topic_partitions=settings.kafka_partitions,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=f"{APP_ID}.{settings.instance_id}",
    )
    results = app.topic(topics.RESULTS, value_type=bytes, key_type=bytes)
    state: dict[str, Any] = {}

    async def applier() -> ResultApplier:
        if "applier" not in state:
            client: Client = await connect(settings)
            producer = kafka.producer(settings, patience=60.0)
            await producer.start()

            async def publish(topic: str, key: bytes, value: bytes, headers: kafka.Headers) -> None:
                await producer.send(topic, value, key=key, headers=headers)

            state["applier"] = ResultApplier(client, publish, settings)
            state["client"] = client
        applier_: ResultApplier = state["applier"]
        return applier_

    @app.agent(
        results, concurrency=settings.bridge_concurrency, supervisor_strategy=CrashingSupervisor
    )
    async def apply_results(stream: Any) -> None:
        async for event in stream.events():
            await (await applier()).apply(event.value, _received(event.message))

    if settings.notification_webhooks:
        statuses = app.topic(topics.STATUS, value_type=bytes, key_type=bytes)

        @app.agent(statuses, concurrency=4, supervisor_strategy=CrashingSupervisor)
        async def notify(stream: Any) -> None:
            async for event in stream.events():
                applier_ = await applier()
                if "notifier" not in state:
                    http = httpx.AsyncClient(timeout=settings.rest_timeout_seconds)
                    state["notifier"] = Notifier(settings, state["client"], http)
                dead_letter = partial(
                    applier_.dead_letter, raw=event.value, received=_received(event.message)
                )
                await state["notifier"].notify(event.value, dead_letter)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        counters = dict(state["applier"].counters) if "applier" in state else {}
        if "notifier" in state:
            counters.update({f"notification.{k}": v for k, v in state["notifier"].counters.items()})
        body = exposition(bridge_counters(counters))
        return web.bytes(body, content_type=CONTENT_TYPE.split(";")[0])  # aiohttp adds charset

    health = Health()

    @app.page("/livez")
    async def livez(web: Any, request: Any) -> Any:
        return web.text("ok")

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        status, body = await health.answer()
        return web.json(body, status=status)

    @app.task  # type: ignore[untyped-decorator]
    async def started() -> None:
        await applier()
        health.add("temporal", temporal_reachable(state["client"]))
        health.add("consumer", faust_assigned)
        log.info("bridge_started", topic=topics.RESULTS)

    async def faust_assigned() -> str | None:
        return None if app.consumer.assignment() else "the consumer has no partitions"

    return app


def _received(message: Any) -> kafka.Received:
    headers = message.headers
    return kafka.Received(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        list(headers.items() if isinstance(headers, dict) else headers or []),
    )


def run_bridge(settings: Settings) -> None:
    """Run the bridge in the foreground until stopped."""
    kafka.pace_fetches(settings)
    app = create_app(settings)
    worker = faust.Worker(app, loglevel="WARNING", override_logging=False)
    worker.execute_from_commandline()
