"""The adapter runtime: consume dept.<dept>.tasks, call the adapter, publish the result.

At least once: an offset is committed only after the results of it and of every earlier
record of its partition are published; records are handled concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from pydantic import ValidationError

from adapters.base import DepartmentAdapter
from adapters.offsets import OffsetTracker
from events import topics
from events.contracts import DeadLetter, TaskCommand
from events.envelope import HEADERS, dumps, loads, wrap
from infra.logging import get_logger
from infra.settings import Settings

log = get_logger(__name__)


class AdapterRuntime:
    """Runs department adapters against their task topics, in one consumer group.

    A department's own adapter runs alone, in group `dept-<department>`; simulated
    departments share one consumer, since every consumer costs a fetch loop.
    """

    def __init__(
        self,
        adapters: Sequence[DepartmentAdapter],
        settings: Settings,
        producer: AIOKafkaProducer,
        group_id: str | None = None,
    ) -> None:
        self._adapters = {topics.department_tasks(a.department): a for a in adapters}
        self._producer = producer
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka,
            group_id=group_id or f"dept-{adapters[0].department}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._offsets: OffsetTracker[TopicPartition] = OffsetTracker()
        self._slots = asyncio.Semaphore(settings.adapter_concurrency)
        self.handled = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        self._consumer.subscribe(list(self._adapters), listener=_Forget(self._offsets))
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
        except Exception:
            # The offset stays uncommitted, so the command is delivered again after a restart.
            log.exception("command_not_handled", topic=record.topic, offset=record.offset)
        finally:
            self._slots.release()

    async def _commit_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            offsets = self._offsets.take()
            if offsets:
                await self._consumer.commit(offsets)

    async def _handle(self, record: ConsumerRecord) -> None:
        try:
            command = loads(record.value, TaskCommand).data
        except (ValidationError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            self.dead_lettered += 1
            log.warning("command_dead_lettered", topic=record.topic, offset=record.offset)
            letter = DeadLetter.of(
                f"invalid task command: {exc}",
                record.value,
                record.topic,
                record.partition,
                record.offset,
            )
            await self._producer.send_and_wait(topics.DLQ, letter.encode(), key=record.key)
            return
        result = await self._adapters[record.topic].handle(command)
        task_log = log.bind(
            department=command.department,
            application_id=command.application_id,
            task_id=command.task_id,
            attempt=command.attempt,
            action=command.action.value,
        )
        if result is None:
            task_log.info("task_unanswered")
            return
        task_log.info("task_answered", outcome=result.outcome.value)
        await self._producer.send_and_wait(
            topics.RESULTS,
            dumps(wrap(result)),
            key=topics.key(command.application_id),
            headers=HEADERS,
        )


class _Forget(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drop offset bookkeeping of partitions this consumer loses in a rebalance."""

    def __init__(self, offsets: OffsetTracker[TopicPartition]) -> None:
        self._offsets = offsets

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass
