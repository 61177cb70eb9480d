"""The bench as a department: it reads its commands off the broker and answers each, after a
set latency, with a proven approval; and the plans it is sent, of any number of tasks."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes

from events import TaskResult, dumps, topics, wrap
from events.contracts import Outcome
from events.envelope import HEADERS
from infra import kafka
from infra.services import Deployment
from infra.settings import Settings
from one_things.plan import ExecutionPlan, PlannedTask
from orchestrator.workflow.models import ApplicationInput, Progress
from orchestrator.workflow.names import REVISION
from orchestrator.workflow.platform import start_index
from orchestrator.workflow.reply import Claims, _unb64
from orchestrator.workflow.workflow import OneThingWorkflow
from tests.conftest import stack_settings
from tests.e2e.helpers import proven_by

DEPARTMENT = "nhc"  # its simulated system is skipped in the bench's deployment: the bench is it


@contextmanager
def bench_deployment(prefix: str, replicas: int = 1) -> Iterator[Deployment]:
    """The bench's deployment, up on free ports in a state dir of its own (departments answer
    at once, the bench plays DEPARTMENT); down, and its data gone, when the block ends."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    settings = stack_settings(state, sim_skip=[DEPARTMENT], sim_latency={}, sim_default_latency=0.0)
    deployment = Deployment.with_replicas(settings, replicas)
    try:
        deployment.up()
        yield deployment
    finally:
        deployment.down()
        shutil.rmtree(state, ignore_errors=True)


def fan_out_plan(tasks: int) -> ExecutionPlan:
    """One task, then all others at once (the shape of an enterprise opening)."""
    planned = [
        PlannedTask(
            task_id=f"t{i}",
            matter="childcare_subsidy",
            title=f"bench task {i}",
            department=DEPARTMENT,
            depends_on=[] if i == 0 else ["t0"],
            payload={},
            time_limit_seconds=3600,
        )
        for i in range(tasks)
    ]
    return ExecutionPlan(one_thing="childcare_subsidy", catalogue_version="bench", tasks=planned)


async def start_application(
    client: Client, settings: Settings, plan: ExecutionPlan
) -> WorkflowHandle[OneThingWorkflow, Progress]:
    """Start an application of `plan` as the intake does: this revision, these attributes.
    Its commands are sent again only after an hour: the bench's department
    reads every one, and its applications wait minutes on purpose."""
    inp = ApplicationInput(
        application_id=f"ot-{uuid.uuid4().hex}",
        plan=plan,
        submitted_at=datetime.now(UTC),
        revision=REVISION,
        redelivery_seconds=3600.0,
    )
    return await client.start_workflow(
        OneThingWorkflow.run,
        inp,
        id=inp.application_id,
        task_queue=settings.task_queue,
        search_attributes=TypedSearchAttributes(start_index(plan)),
    )


def approval(settings: Settings, command: dict[str, object], n: int = 0) -> bytes:
    """A proven approval of `command`, with every output its reply token asks for."""
    token = str(command["reply_token"])
    claims = Claims.model_validate_json(_unb64(token.split(".")[2]))
    result = TaskResult(
        application_id=str(command["application_id"]),
        task_id=str(command["task_id"]),
        attempt=int(str(command["attempt"])),
        department=DEPARTMENT,
        reply_token=token,
        outcome=Outcome.APPROVED,
        outputs={output: f"BENCH-{n}" for output in claims.o},
    )
    return dumps(wrap(proven_by(result, settings, DEPARTMENT)))


def handling(raw: bytes | None) -> dict[str, object] | None:
    """The command a record carries if it asks to handle a task (not to undo one)."""
    data: dict[str, object] = orjson.loads(raw or b"{}").get("data", {})
    return data if data.get("action") == "handle" else None


@asynccontextmanager
async def at_the_end(settings: Settings, *names: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of `names` (no group) placed at their ends: it sees what comes from now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # the metadata that names the partitions
        partitions = [
            TopicPartition(topic, p)
            for topic in names
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        yield consumer
    finally:
        await consumer.stop()


def command_reader(settings: Settings) -> AbstractAsyncContextManager[AIOKafkaConsumer]:
    return at_the_end(settings, topics.department_tasks(DEPARTMENT))


@dataclass
class BenchDepartment:
    """Answers every command after `latency` seconds; records when it saw and answered them.
    `loses_first`: each dispatch is answered only when it comes again (its first delivery
    lost, as a broker that acknowledged it and lost it would leave it)."""

    settings: Settings
    latency: float = 0.0
    loses_first: bool = False
    seen: dict[str, float] = field(default_factory=dict)  # application/task → on the topic
    answered: dict[str, float] = field(default_factory=dict)
    lost: dict[str, bool] = field(default_factory=dict)  # application/task/attempt → came again

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BenchDepartment]:
        producer = kafka.producer(self.settings)
        await producer.start()
        ready = asyncio.Event()
        task = asyncio.create_task(self._answer_all(producer, ready))
        await asyncio.wait_for(ready.wait(), 30)
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await producer.stop()

    async def _answer_all(self, producer: kafka.Producer, ready: asyncio.Event) -> None:
        pending: set[asyncio.Task[None]] = set()
        async with command_reader(self.settings) as consumer:
            ready.set()
            async for record in consumer:
                command = handling(record.value)
                if command is None:
                    continue
                key = f"{command['application_id']}/{command['task_id']}"
                if self.loses_first:
                    dispatch = f"{key}/{command['attempt']}"
                    self.lost[dispatch] = dispatch in self.lost  # it came again
                    if not self.lost[dispatch]:
                        continue
                self.seen[key] = record.timestamp / 1000
                answer = asyncio.create_task(self._answer(producer, command, key))
                pending.add(answer)
                answer.add_done_callback(pending.discard)

    async def _answer(self, producer: kafka.Producer, command: dict[str, object], key: str) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        self.answered[key] = time.time()
        await producer.send(
            topics.RESULTS,
            approval(self.settings, command),
            key=str(command["application_id"]).encode(),
            headers=HEADERS,
        )
