"""The activities that talk to Kafka for the workflow: publish a command, wait for its answer,
publish status events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity

from events import topics
from events.contracts import (
    Action,
    ApplicationStatusChanged,
    Message,
    TaskCommand,
    TaskStateChanged,
)
from events.envelope import HEADERS, dumps, wrap
from infra.kafka import Producer
from orchestrator.workflow import reply
from orchestrator.workflow.models import (
    PublishCommand,
    TaskAnswer,
    TaskState,
)
from orchestrator.workflow.names import (
    AWAIT_ANSWER,
    PUBLISH_COMMAND,
    PUBLISH_STATUS,
    PUBLISH_TASK_STATE,
)


@activity.defn(name=AWAIT_ANSWER)
async def await_answer() -> TaskAnswer:
    """Wait for the department: the results bridge completes this activity with its answer."""
    activity.raise_complete_async()


class TaskActivities:
    """Publishes commands (with signed reply tokens) and status events, one shared producer."""

    def __init__(self, producer: Producer, reply_key_id: str, reply_key: bytes) -> None:
        self._producer = producer
        self._reply_key_id = reply_key_id
        self._reply_key = reply_key

    async def _send(self, topic: str, event: Message) -> None:
        await self._producer.send(
            topic, dumps(wrap(event)), key=topics.key(event.application_id), headers=HEADERS
        )

    @activity.defn(name=PUBLISH_COMMAND)
    async def publish_command(self, inp: PublishCommand) -> None:
        """Publish one dispatch's command (and say so on onething.status)."""
        command = TaskCommand(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            attempt=inp.attempt,
            one_thing=inp.one_thing,
            matter=inp.task.matter,
            department=inp.task.department,
            action=inp.action,
            payload=inp.payload,
            deadline=inp.deadline,
            reply_token=self._reply_token(inp),
            trace_id=inp.trace_id,
        )
        dispatched = TaskStateChanged(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            department=inp.task.department,
            state=(
                TaskState.DISPATCHED if inp.action is Action.HANDLE else TaskState.COMPENSATING
            ).value,
            attempt=inp.attempt,
            at=datetime.now(UTC),
        )
        await asyncio.gather(
            self._send(topics.department_tasks(inp.task.department), command),
            self._send(topics.STATUS, dispatched),
        )

    def _reply_token(self, inp: PublishCommand) -> str:
        claims = reply.Claims(
            w=inp.application_id,
            r=inp.trace_id,
            a=inp.awaiting,
            d=inp.task.department,
            x=inp.action,
            n=inp.attempt,
            o=inp.task.outputs if inp.action is Action.HANDLE else [],
            k=self._reply_key_id,
        )
        return reply.issue(claims, self._reply_key)

    @activity.defn(name=PUBLISH_STATUS)
    async def publish_status(self, event: ApplicationStatusChanged) -> None:
        """Tell notification consumers that an application changed status."""
        await self._send(topics.STATUS, event)

    @activity.defn(name=PUBLISH_TASK_STATE)
    async def publish_task_state(self, event: TaskStateChanged) -> None:
        """Tell operators that a task was escalated or could not be undone."""
        await self._send(topics.STATUS, event)
