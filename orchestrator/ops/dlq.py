"""Operators' view of the dead-letter topic: list what landed there, replay one message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition

from events import topics
from events.contracts import DeadLetter
from infra import kafka
from infra.connections import kafka_options
from infra.sealing import Sealer
from infra.settings import Settings


class Stored(NamedTuple):
    """A dead letter, and the key and headers its message came with."""

    letter: DeadLetter
    key: bytes | None
    headers: kafka.Headers


async def dead_letters(settings: Settings) -> dict[str, Stored]:
    """Every dead letter so far, by `partition:offset` in onething.dlq."""
    consumer = AIOKafkaConsumer(**kafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.DLQ, p) for p in consumer.partitions_for_topic(topics.DLQ) or ()
        ]
        if not partitions:
            return {}
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[str, Stored] = {}

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    found[f"{tp.partition}:{record.offset}"] = Stored(
                        DeadLetter.model_validate_json(record.value),
                        record.key,
                        list(record.headers),
                    )
        return found
    finally:
        await consumer.stop()


async def replay(settings: Settings, letter_id: str) -> DeadLetter:
    """Publish the original bytes of one dead letter to its original topic again, with the
    key and headers it came with.

    A letter from a file (`file:<path>`) is written back to that file, to be collected again.
    """
    letters = await dead_letters(settings)
    if letter_id not in letters:
        raise KeyError(letter_id)
    letter, key, headers = letters[letter_id]
    if letter.topic.startswith("file:"):
        target = Path(letter.topic.removeprefix("file:"))
        await asyncio.to_thread(target.write_bytes, Sealer.of(settings).original(letter))
        return letter
    producer = kafka.producer(settings)
    await producer.start()
    try:
        original = Sealer.of(settings).original(letter)
        await producer.send(letter.topic, original, key=key, headers=headers)
    finally:
        await producer.stop()
    return letter
