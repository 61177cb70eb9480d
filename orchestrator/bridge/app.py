"""The results bridge: a Faust app that consumes dept.results and completes waiting activities.

If its agent ever stops, the process exits non-zero (its supervisor restarts it): never a live
bridge that consumes nothing.
"""

from __future__ import annotations

from typing import Any

import faust
from mode import CrashingSupervisor
from temporalio.client import Client

from events import topics
from infra import kafka
from infra.logging import get_logger
from infra.settings import Settings
from infra.supervisor import Supervisor
from orchestrator.bridge.apply import ResultApplier
from orchestrator.client import connect
from orchestrator.ops.metrics import CONTENT_TYPE, bridge_counters, exposition

log = get_logger(__name__)
APP_ID = "onething-bridge"


def create_app(settings: Settings) -> faust.App:
    """The Faust app: one agent over dept.results, a metrics page, at-least-once."""
    app = faust.App(
        APP_ID,
        broker=f"kafka://{settings.kafka}",
        value_serializer="raw",
        key_serializer="raw",
        processing_guarantee="at_least_once",
        producer_acks=-1,
        store="memory://",
        web_host=settings.host,
        web_port=settings.bridge_port,
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
        applier_: ResultApplier = state["applier"]
        return applier_

    @app.agent(
        results, concurrency=settings.bridge_concurrency, supervisor_strategy=CrashingSupervisor
    )
    async def apply_results(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            await (await applier()).apply(
                event.value, message.topic, message.partition, message.offset
            )

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        counters = dict(state["applier"].counters) if "applier" in state else {}
        body = exposition(bridge_counters(counters))
        return web.bytes(body, content_type=CONTENT_TYPE.split(";")[0])  # aiohttp adds charset

    @app.task  # type: ignore[untyped-decorator]
    async def started() -> None:
        await applier()
        Supervisor(settings.state_dir).mark_ready("bridge")
        log.info("bridge_started", topic=topics.RESULTS)

    return app


def run_bridge(settings: Settings) -> None:
    """Run the bridge in the foreground until stopped."""
    kafka.pace_fetches(settings)
    app = create_app(settings)
    worker = faust.Worker(app, loglevel="WARNING", override_logging=False)
    worker.execute_from_commandline()
