"""Does the embedded broker keep what it acknowledged when it is stopped?

Usage: python -m tests.faults.broker_durability [RUNS]

Each run: four idempotent producers (`acks=all`) send numbered records as fast as they are
acknowledged; the broker is stopped as the broker drill stops it (SIGTERM to its process
group) and started again on the same data; then every record is read back. Prints, per run,
how many acknowledged records are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from infra.services import on_free_ports
from infra.settings import Settings
from infra.stack import KAFKA, EmbeddedStack

TOPIC = "durability"
PRODUCERS = 4


async def produce_until_stopped(settings: Settings, stack: EmbeddedStack) -> set[bytes]:
    """The records the broker acknowledged before it was stopped."""
    acknowledged: set[bytes] = set()
    producers = [
        AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all", enable_idempotence=True)
        for _ in range(PRODUCERS)
    ]

    async def send(n: int, producer: AIOKafkaProducer) -> None:
        i = 0
        with contextlib.suppress(Exception):  # the broker went away
            while True:
                value = f"{n}-{i}".encode()
                await producer.send_and_wait(TOPIC, value)
                acknowledged.add(value)
                i += 1

    for producer in producers:
        await producer.start()
    senders = [asyncio.create_task(send(n, p)) for n, p in enumerate(producers)]
    await asyncio.sleep(1.5)
    await asyncio.to_thread(stack.supervisor.stop, KAFKA)
    for sender in senders:
        sender.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    for producer in producers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), 2)
    return acknowledged


async def stored(settings: Settings) -> set[bytes]:
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=settings.kafka, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: set[bytes] = set()
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found.update(r.value for r in records if r.value is not None)
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return found


def one_run() -> tuple[int, int]:
    settings = on_free_ports(Path(tempfile.mkdtemp(prefix="onething-durability-")))
    stack = EmbeddedStack(settings)
    stack.up(parts=(KAFKA,), prepare=False)
    try:
        acknowledged = asyncio.run(produce_until_stopped(settings, stack))
        stack.up(parts=(KAFKA,), prepare=False)
        return len(acknowledged), len(acknowledged - asyncio.run(stored(settings)))
    finally:
        stack.down()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for run in range(1, runs + 1):
        acknowledged, missing = one_run()
        print(f"run {run}: {acknowledged} acknowledged, {missing} missing after the restart")


if __name__ == "__main__":
    main()
