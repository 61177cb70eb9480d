"""The Kafka hop alone on the embedded broker: one record every 50 ms, from an idempotent
producer to a consumer, both made as ours (`infra.kafka`), the consumer paced, at several pacings.

Usage: python -m tests.bench.kafka_hop [N]   (N records per pacing, default 100)
Prints, per pacing, the producer's acknowledgement time and the time from send to the
consumer's hands (p50, p90, max in ms).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

from infra import kafka
from infra.services import Deployment
from infra.settings import Settings
from tests.bench.measure import percentile
from tests.conftest import stack_settings

PACINGS_MS = (10.0, 5.0, 0.0)


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):.1f}, p90 {percentile(values, 0.9):.1f}, "
        f"max {max(values):.1f}"
    )


async def hop(settings: Settings, pacing_ms: float, n: int) -> str:
    paced = settings.model_copy(
        update={"kafka_fetch_pacing_ms": pacing_ms, "kafka_idle_fetch_pacing_ms": pacing_ms}
    )
    kafka.pace_fetches(paced)
    topic = f"bench-hop-{uuid.uuid4().hex[:8]}"
    producer = kafka.producer(settings)
    await producer.start()
    await producer.send(topic, b"first")
    consumer = kafka.consumer(settings, topic, group_id=topic)
    await consumer.start()
    await consumer.getone()
    acknowledged: list[float] = []
    delivered: list[float] = []

    async def read() -> None:
        async for record in consumer:
            delivered.append(time.time() * 1000 - record.timestamp)

    reader = asyncio.create_task(read())
    try:
        for _ in range(n):
            sent = time.perf_counter()
            await producer.send(topic, b"x" * 500)
            acknowledged.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        reader.cancel()
        await consumer.stop()
        await producer.stop()
    return (
        f"pacing {pacing_ms:g} ms: acknowledged {summary(acknowledged)}; "
        f"send → consumer {summary(delivered)}"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    state = Path(tempfile.mkdtemp(prefix="onething-kafka-hop-"))
    deployment = Deployment(stack_settings(state))
    try:
        deployment.stack.up()
        for pacing in PACINGS_MS:
            print(asyncio.run(hop(deployment.settings, pacing, n)), flush=True)
    finally:
        deployment.stack.down()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
