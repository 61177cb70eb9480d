"""The adapter runtime: consume dept.<dept>.tasks, call the adapter, publish the result.

At least once: an offset is committed only after the results of it and of every earlier
record of its partition are published; records are handled concurrently. A result that
cannot be published (the broker is away) is tried again until it is; a command the adapter
cannot handle at all is dead-lettered with the reason. No record stops the consumer.
"""

from __future__ import annotations

import asyncio

import orjson
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars

from adapters.base import DepartmentAdapter, signed
from adapters.offsets import OffsetTracker
from events import topics
from events.contracts import TaskCommand, TaskResult
from events.envelope import HEADERS, dumps, loads, wrap
from infra import kafka
from infra.logging import get_logger
from infra.sealing import Sealer
from infra.settings import Settings

log = get_logger(__name__)


class AdapterRuntime:
    """Runs one department's adapter against its task topic, in group `dept-<department>`."""

    def __init__(
        self, adapter: DepartmentAdapter, settings: Settings, producer: kafka.Producer
    ) -> None:
        self._adapter = adapter
        self._producer = producer
        self._settings = settings
        self._sealer = Sealer.of(settings)
        self._topic = topics.department_tasks(adapter.department)
        self._consumer = kafka.consumer(settings, group_id=f"dept-{adapter.department}")
        self._offsets: OffsetTracker[TopicPartition] = OffsetTracker()
        self._slots = asyncio.Semaphore(settings.adapter_concurrency)
        self.handled = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Forget(self._offsets))
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def run(self) -> None:
        """Handle records concurrently until cancelled; commit each finished prefix."""
        committer = asyncio.create_task(self._commit_every(0.2))
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for record in self._consumer:
                await self._slots.acquire()
                tp = TopicPartition(record.topic, record.partition)
                self._offsets.started(tp, record.offset)
                task = asyncio.create_task(self._process(tp, record))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            committer.cancel()
            for task in tasks:
                task.cancel()

    async def _process(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        try:
            await self._handle(record)
            self._offsets.finished(tp, record.offset)
            self.handled += 1
        finally:
            self._slots.release()

    async def _commit_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            offsets = self._offsets.take()
            if not offsets:
                continue
            try:
                await self._consumer.commit(offsets)
            except KafkaError as exc:  # committed with the next finished prefix instead
                self._offsets.restore(offsets)
                log.warning("offsets_not_committed", error=type(exc).__name__)

    async def _handle(self, record: ConsumerRecord) -> None:
        try:
            command = loads(record.value, TaskCommand).data
        except (ValidationError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            await self._dead_letter(record, f"invalid task command: {exc}")
            return
        with bound_contextvars(  # every log line of this command says which it is
            department=command.department,
            application_id=command.application_id,
            task_id=command.task_id,
            attempt=command.attempt,
            action=command.action.value,
        ):
            try:
                result = await self._adapter.handle(command)
            except Exception as exc:  # a defect of one adapter must not stop the department
                log.exception("command_not_handled")
                await self._dead_letter(record, f"the adapter failed: {type(exc).__name__}")
                return
            if result is None:
                log.info("task_unanswered")
                return
            log.info("task_answered", outcome=result.outcome.value)
            await self._publish(result)

    async def _publish(self, result: TaskResult) -> None:
        key = topics.key(result.application_id)
        proven = signed(result, self._settings)
        await self._producer.send_until_taken(topics.RESULTS, dumps(wrap(proven)), key, HEADERS)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        self.dead_lettered += 1
        log.warning("command_dead_lettered", topic=record.topic, offset=record.offset)
        letter = self._sealer.dead_letter(
            reason, record.value, record.topic, record.partition, record.offset
        )
        await self._producer.send_until_taken(topics.DLQ, letter.encode(), record.key)


class _Forget(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drop offset bookkeeping of partitions this consumer loses in a rebalance."""

    def __init__(self, offsets: OffsetTracker[TopicPartition]) -> None:
        self._offsets = offsets

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass
