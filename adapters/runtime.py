"""The adapter runtime: consume dept.<dept>.tasks, call the adapter, publish the result.

At least once: an offset is committed only after the results of it and of every earlier
record of its partition are published; records are handled concurrently. A result that
cannot be published (the broker is away) is tried again until it is; a command the adapter
cannot handle at all, or one OneThing's signature does not prove, is dead-lettered with the
reason and never reaches the department's system. No record stops the consumer.

Every department of the process shares one consumer (one fetch loop instead of one per
department: idle consumers cost a broker round trip each per fetch). A department with
`adapter_concurrency` commands in flight has its partitions paused until one finishes, so a
slow or dead department never stalls another.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars

from adapters.base import DepartmentAdapter, answer, signed
from adapters.offsets import OffsetTracker
from events import topics
from events.contracts import Outcome, TaskCommand, TaskResult
from events.envelope import ENVELOPES, HEADERS, dumps, traceparent_of, wrap
from infra import kafka, tracing
from infra.logging import get_logger
from infra.message_signing import refusal
from infra.sealing import Sealer
from infra.settings import Settings

log = get_logger(__name__)


class AdapterRuntime:
    """Runs department adapters against their task topics, in group `departments_group`."""

    def __init__(
        self, adapters: list[DepartmentAdapter], settings: Settings, producer: kafka.Producer
    ) -> None:
        self._adapters = {topics.department_tasks(a.department): a for a in adapters}
        self._producer = producer
        self._settings = settings
        self._sealer = Sealer.of(settings)
        self._onething = settings.verifier("command")
        self.consumer = kafka.consumer(settings, group_id=settings.departments_group)
        self._offsets: OffsetTracker[TopicPartition] = OffsetTracker()
        self._in_flight: Counter[str] = Counter()

    async def start(self) -> None:
        if self._adapters:  # every department may run its own system (`ONETHING_SIM_SKIP`)
            self.consumer.subscribe(list(self._adapters), listener=_Forget(self._offsets))
            await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def run(self) -> None:
        """Handle records concurrently until cancelled; commit each finished prefix."""
        if not self._adapters:
            await asyncio.Event().wait()
        committer = asyncio.create_task(self._commit_every(0.2))
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for record in self.consumer:
                self._in_flight[record.topic] += 1
                if self._in_flight[record.topic] >= self._settings.adapter_concurrency:
                    self.consumer.pause(*self._partitions(record.topic))
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
            await self._handle(self._adapters[record.topic], record)
            self._offsets.finished(tp, record.offset)
        finally:
            self._in_flight[record.topic] -= 1
            paused = [p for p in self.consumer.paused() if p.topic == record.topic]
            if paused and self._in_flight[record.topic] < self._settings.adapter_concurrency:
                self.consumer.resume(*paused)

    def _partitions(self, topic: str) -> list[TopicPartition]:
        return [tp for tp in self.consumer.assignment() if tp.topic == topic]

    async def _commit_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            offsets = self._offsets.take()
            if not offsets:
                continue
            try:
                await self.consumer.commit(offsets)
            except KafkaError as exc:  # committed with the next finished prefix instead
                self._offsets.restore(offsets)
                log.warning("offsets_not_committed", error=type(exc).__name__)

    async def _handle(self, adapter: DepartmentAdapter, record: ConsumerRecord) -> None:
        try:
            document = orjson.loads(record.value)
            event = ENVELOPES[TaskCommand].model_validate(document)
        except (ValidationError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            await self._dead_letter(record, f"invalid task command: {exc}")
            return
        refused = refusal(document["data"], self._onething)
        if refused is not None:
            await self._dead_letter(record, f"unproven task command: {refused}")
            return
        command: TaskCommand = event.data
        if command.department != adapter.department:  # signed for another department's topic
            await self._dead_letter(
                record, f"a command for {command.department!r} on {adapter.department!r}'s topic"
            )
            return
        with tracing.consuming(
            traceparent_of(event), f"{record.topic} process", department=command.department
        ):
            await self._answer(adapter, command, record)

    async def _answer(
        self, adapter: DepartmentAdapter, command: TaskCommand, record: ConsumerRecord
    ) -> None:
        with bound_contextvars(  # every log line of this command says which it is
            department=command.department,
            application_id=command.application_id,
            task_id=command.task_id,
            attempt=command.attempt,
            action=command.action.value,
        ):
            try:
                result = await adapter.handle(command)
            except Exception as exc:  # a defect of one adapter must not stop the department
                log.exception("command_not_handled")
                await self._dead_letter(record, f"the adapter failed: {type(exc).__name__}")
                return
            if result is None:  # answered later: say it is taken in, or it is sent again
                result = answer(command, Outcome.ACCEPTED)
            log.info("task_answered", outcome=result.outcome.value)
            await self._publish(result)

    async def _publish(self, result: TaskResult) -> None:
        key = topics.key(result.application_id)
        proven = wrap(signed(result, self._settings), traceparent=tracing.traceparent())
        await self._producer.send_until_taken(topics.RESULTS, dumps(proven), key, HEADERS)

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.warning("command_dead_lettered", topic=record.topic, offset=record.offset)
        letter = self._sealer.dead_letter(
            reason, record.value, record.topic, record.partition, record.offset
        )
        received = kafka.Received.of(record)
        await self._producer.send_until_taken(
            topics.DLQ, letter.encode(), received.key, received.headers
        )


class _Forget(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drop offset bookkeeping of partitions this consumer loses in a rebalance."""

    def __init__(self, offsets: OffsetTracker[TopicPartition]) -> None:
        self._offsets = offsets

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._offsets.forget(set(revoked))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass
