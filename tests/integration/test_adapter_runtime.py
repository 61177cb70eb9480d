"""One consumer for every department: a department at its limit never stalls another."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from adapters.base import DepartmentAdapter
from adapters.runtime import AdapterRuntime
from events import TaskCommand, TaskResult, topics
from events.envelope import HEADERS, dumps, wrap
from infra import kafka
from infra.message_signing import signed
from infra.settings import Settings
from tests.factories import task_command


class Recording(DepartmentAdapter):
    """A department system that notes each command and answers later (never, here)."""

    def __init__(self, department: str, released: asyncio.Event | None = None) -> None:
        self.department = department
        self.started: list[str] = []
        self.finished: list[str] = []
        self._released = released

    async def handle(self, command: TaskCommand) -> TaskResult | None:
        self.started.append(command.application_id)
        if self._released is not None:
            await self._released.wait()
        self.finished.append(command.application_id)
        return None


async def until(condition: object, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_a_department_at_its_limit_is_paused_and_the_others_go_on(
    settings: Settings,
) -> None:
    run = uuid.uuid4().hex[:8]
    released = asyncio.Event()
    slow, quick = Recording(f"slow{run}", released), Recording(f"quick{run}")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topics.department_tasks(a.department), 2, 1) for a in (slow, quick)]
        )
    finally:
        await admin.close()
    limited = settings.model_copy(
        update={"adapter_concurrency": 2, "departments_group": f"test-departments-{run}"}
    )
    producer = kafka.producer(settings)
    await producer.start()
    onething = settings.required_signer("command")
    for department, count in ((slow.department, 5), (quick.department, 3)):
        for i in range(count):
            made = task_command(application_id=f"ot-{department}-{i}", department=department)
            command = signed(made, onething)
            await producer.send_until_taken(
                topics.department_tasks(department), dumps(wrap(command)), b"k%d" % i, HEADERS
            )
    runtime = AdapterRuntime([slow, quick], limited, producer)
    await runtime.start()
    running = asyncio.create_task(runtime.run())
    try:
        await until(lambda: len(quick.finished) == 3)
        await asyncio.sleep(0.5)  # time for more of the slow department's commands to arrive
        assert len(slow.started) == 2, "no more than its limit in flight"
        released.set()
        await until(lambda: len(slow.finished) == 5)
        assert sorted(slow.finished) == [f"ot-{slow.department}-{i}" for i in range(5)]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await runtime.stop()
        await producer.stop()
