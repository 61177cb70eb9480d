"""Prometheus metrics of the API and the bridge (the worker's come from Temporal's runtime).

The API process gathers in the background, every `metrics_refresh_seconds`: applications by
status (from Temporal's visibility store), messages in onething.dlq, and every consumer
group's lag; a scrape only reads the last gathering, on a port of its own (never the public
API's). The bridge serves its counters of what it applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from temporalio.client import Client

from events import topics
from infra.connections import kafka_options
from infra.logging import get_logger
from infra.settings import Settings
from orchestrator.workflow.models import ApplicationStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
GROUPS = ("onething-bridge", "onething-intake")  # and the departments', and Kafka-native `dept-*`
log = get_logger(__name__)


class Snapshot(Collector):
    """Serves metrics gathered beforehand (prometheus_client's collectors are synchronous)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def exposition(metrics: list[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot(metrics))
    return generate_latest(registry)


class Gauges:
    """What the API's metrics page shows, gathered every `every` seconds, not per scrape: a
    scrape opened a Kafka admin session and ran a Temporal count per status."""

    def __init__(self, settings: Settings, temporal: Client, every: float) -> None:
        self._settings = settings
        self._temporal = temporal
        self._every = every
        self._latest: list[Metric] = []

    async def gather(self) -> None:
        self._latest = [
            await applications_by_status(self._temporal),
            *await kafka_metrics(self._settings),
        ]

    async def run(self) -> None:
        while True:
            try:
                await self.gather()
            except Exception as exc:  # whatever failed, the last stays served and it tries again
                log.warning("metrics_not_gathered", error=type(exc).__name__)
            await asyncio.sleep(self._every)

    def exposition(self) -> bytes:
        return exposition(self._latest)


async def applications_by_status(client: Client) -> Metric:
    gauge = GaugeMetricFamily("onething_applications", "Applications by status.", labels=["status"])
    for status in ApplicationStatus:
        counted = await client.count_workflows(f"ApplicationStatus = '{status.value}'")
        gauge.add_metric([status.value], counted.count)
    return gauge


async def kafka_metrics(settings: Settings) -> list[Metric]:
    """Messages in the dead-letter topic, and each consumer group's lag per topic."""
    consumer = AIOKafkaConsumer(**kafka_options(settings), enable_auto_commit=False)
    admin = AIOKafkaAdminClient(**kafka_options(settings))
    await consumer.start()
    await admin.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in await consumer.topics()
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        ends = await consumer.end_offsets(partitions)
        dlq = GaugeMetricFamily(
            "onething_dlq_messages",
            "Messages in onething.dlq.",
            value=sum(end for tp, end in ends.items() if tp.topic == topics.DLQ),
        )
        lag = GaugeMetricFamily(
            "onething_consumer_lag", "Messages not yet consumed.", labels=["group", "topic"]
        )
        listed = [str(g[0]) for g in await admin.list_consumer_groups()]
        ours = [
            g
            for g in listed
            if g in GROUPS or g == settings.departments_group or g.startswith("dept-")
        ]
        for group in sorted(ours):
            committed = await admin.list_consumer_group_offsets(group)
            for topic, behind in _lag(ends, committed).items():
                lag.add_metric([group, topic], behind)
        return [dlq, lag]
    finally:
        await admin.close()
        await consumer.stop()


def _lag(
    ends: Mapping[TopicPartition, int], committed: Mapping[TopicPartition, object]
) -> dict[str, int]:
    behind: dict[str, int] = {}
    for tp, meta in committed.items():
        offset = getattr(meta, "offset", -1)
        if tp in ends and offset >= 0:
            behind[tp.topic] = behind.get(tp.topic, 0) + max(ends[tp] - offset, 0)
    return behind


def bridge_counters(counters: Mapping[str, int]) -> list[Metric]:
    results = CounterMetricFamily(
        "onething_bridge_results",
        "Results the bridge handled, by what became of them.",
        labels=["fate"],
    )
    outcomes = CounterMetricFamily(
        "onething_bridge_outcomes", "Applied results by outcome.", labels=["outcome"]
    )
    notifications = CounterMetricFamily(
        "onething_notifications",
        "Notifications to applicants by fate (delivered, retried, dead_lettered).",
        labels=["fate"],
    )
    for name, value in sorted(counters.items()):
        if name.startswith("outcome."):
            outcomes.add_metric([name.removeprefix("outcome.")], value)
        elif name.startswith("notification."):
            notifications.add_metric([name.removeprefix("notification.")], value)
        else:
            results.add_metric([name], value)
    return [results, outcomes, notifications]
