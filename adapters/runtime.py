"""The adapter runtime: consume dept.<dept>.tasks, call the adapter, publish the result.

At least once: offsets are committed only after every result of a batch is published.
"""

from __future__ import annotations

import asyncio

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError

from adapters.base import DepartmentAdapter
from events import topics
from events.contracts import DeadLetter, TaskCommand
from events.envelope import dumps, loads, wrap
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger(__name__)


class AdapterRuntime:
    """Runs one department adapter against its task topic."""

    def __init__(
        self, adapter: DepartmentAdapter, settings: Settings, producer: AIOKafkaProducer
    ) -> None:
        self._adapter = adapter
        self._producer = producer
        self._consumer = AIOKafkaConsumer(
            topics.department_tasks(adapter.department),
            bootstrap_servers=settings.kafka,
            group_id=f"dept-{adapter.department}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self.handled = 0

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def run(self) -> None:
        """Handle batches until cancelled: all of a batch at once, then commit."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for batch in batches.values() for r in batch]
            if not records:
                continue
            sent = await asyncio.gather(*(self._handle(r) for r in records))
            await asyncio.gather(*sent)
            await self._consumer.commit()
            self.handled += len(records)

    async def _handle(self, record: ConsumerRecord) -> asyncio.Future[object]:
        try:
            command = loads(record.value, TaskCommand).data
        except (ValidationError, orjson.JSONDecodeError, ValueError) as exc:
            log.warning("command_dead_lettered", topic=record.topic, offset=record.offset)
            letter = DeadLetter.of(
                f"invalid task command: {exc}",
                record.value,
                record.topic,
                record.partition,
                record.offset,
            )
            return await self._producer.send(  # type: ignore[no-any-return]
                topics.DLQ, letter.encode(), key=record.key
            )
        result = await self._adapter.handle(command)
        log.info(
            "task_answered",
            department=command.department,
            application_id=command.application_id,
            task_id=command.task_id,
            attempt=command.attempt,
            outcome=result.outcome.value,
        )
        return await self._producer.send(  # type: ignore[no-any-return]
            topics.RESULTS, dumps(wrap(result)), key=topics.key(command.application_id)
        )
