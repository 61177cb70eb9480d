"""Records sent together reach the broker once each, in the order they were given."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra import kafka
from infra.settings import Settings


async def test_records_sent_together_arrive_in_their_order(settings: Settings) -> None:
    topic = f"in-order-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = kafka.producer(settings)
    await producer.start()
    try:
        await producer.send_in_order(topic, [(b"ot-1", str(i).encode()) for i in range(300)])
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka, auto_offset_reset="earliest"
    )
    await consumer.start()
    read: list[str] = []
    try:
        async with asyncio.timeout(30):
            while len(read) < 300:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    read += [r.value.decode() for r in records if r.value is not None]
    finally:
        await consumer.stop()
    assert read == [str(i) for i in range(300)]
