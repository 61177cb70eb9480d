"""The activities that talk to Kafka for the workflow: publish a command, wait for its answer,
publish status events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from pydantic import JsonValue
from temporalio import activity

from events import topics
from events.contracts import (
    Action,
    ApplicationStatusChanged,
    CommandMaterial,
    Message,
    TaskCommand,
)
from events.envelope import HEADERS, dumps, wrap
from infra import tracing
from infra.kafka import Producer
from infra.message_signing import signed
from infra.signing import Signer
from one_things.materials import PlannedMaterial
from orchestrator.stores.audit import GroupCommit, Link
from orchestrator.stores.materials import MaterialLinks
from orchestrator.workflow import reply
from orchestrator.workflow.models import (
    Announcements,
    Awaiting,
    PublishCommand,
    PublishCommands,
    TaskAnswer,
)
from orchestrator.workflow.names import (
    AWAIT_ANSWER,
    PUBLISH_COMMAND,
    PUBLISH_COMMANDS,
    PUBLISH_EVENTS,
)


@activity.defn(name=AWAIT_ANSWER)
async def await_answer(awaiting: Awaiting) -> TaskAnswer:
    """Wait for the department: the results bridge completes this activity with its answer."""
    activity.raise_complete_async()


class TaskActivities:
    """Publishes commands (with signed reply tokens) and status events, one shared producer;
    OneThing signs each command and each status event."""

    def __init__(
        self,
        producer: Producer,
        reply_key_id: str,
        reply_key: bytes,
        links: MaterialLinks,
        link_valid: timedelta,
        trail: GroupCommit,
        commands: Signer,
        statuses: Signer,
    ) -> None:
        self._producer = producer
        self._commands = commands
        self._statuses = statuses
        self._reply_key_id = reply_key_id
        self._reply_key = reply_key
        self._links = links
        self._link_valid = link_valid
        self._trail = trail

    @activity.defn(name=PUBLISH_COMMANDS)
    async def publish_commands(self, batch: PublishCommands) -> None:
        """Publish the commands one workflow task dispatched, together (each command's own
        state changes after it, the rest of what changed beside them), and note them in the
        audit trail in one transaction."""
        links, _ = await asyncio.gather(
            asyncio.gather(*(self._publish_command(inp) for inp in batch.commands)),
            self.publish_events(batch.announce or Announcements()),
        )
        application_id = batch.commands[0].application_id
        await self._trail.append(application_id, list(links))

    @activity.defn(name=PUBLISH_COMMAND)
    async def publish_command(self, inp: PublishCommand) -> None:
        """Publish one dispatch's command (and say so on onething.status)."""
        link = await self._publish_command(inp)
        await self._trail.append(inp.application_id, [link])

    async def _publish_command(self, inp: PublishCommand) -> Link:
        """Send the command and its state changes; what the audit trail says of it."""
        unsigned = TaskCommand(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            attempt=inp.attempt,
            one_thing=inp.one_thing,
            matter=inp.task.matter,
            department=inp.task.department,
            action=inp.action,
            payload=inp.payload,
            materials={m.id: self._material(m, inp) for m in inp.materials},
            deadline=inp.deadline,
            reply_token=self._reply_token(inp),
            trace_id=inp.trace_id,
        )
        command = signed(unsigned, self._commands)
        await asyncio.gather(
            self._send_in_order(topics.department_tasks(inp.task.department), [command]),
            self._send_in_order(topics.STATUS, inp.announce),
        )
        detail: dict[str, JsonValue] = {
            "task": inp.task.task_id,
            "department": inp.task.department,
            "action": inp.action.value,
            "attempt": inp.attempt,
            "fields": list(sorted(inp.payload)),
            "materials": list(sorted(command.materials)),
        }
        return ("command" if inp.action is Action.HANDLE else "undo", "onething", detail)

    def _material(self, material: PlannedMaterial, inp: PublishCommand) -> CommandMaterial:
        """What the department learns of a material: how it was settled, and a link to it."""
        url = None
        if material.sha256 is not None:
            url = self._links.link(
                material.sha256,
                inp.task.department,
                inp.application_id,
                material.id,
                self._link_valid,
            )
        return CommandMaterial(
            title=material.title,
            settled=material.settled.value,
            sha256=material.sha256,
            url=url,
            licence_id=material.licence_id,
            due=material.due,
        )

    def _reply_token(self, inp: PublishCommand) -> str:
        workflow_id = activity.info().workflow_id or inp.application_id
        claims = reply.Claims(
            w=workflow_id,
            r=inp.trace_id,
            a=inp.awaiting,
            d=inp.task.department,
            x=inp.action,
            n=inp.attempt,
            o=inp.task.outputs if inp.action is Action.HANDLE else [],
            k=self._reply_key_id,
            p=None if workflow_id == inp.application_id else inp.application_id,
        )
        return reply.issue(claims, self._reply_key)

    @activity.defn(name=PUBLISH_EVENTS)
    async def publish_events(self, batch: Announcements) -> None:
        """Tell notifiers and operators what changed, in the order it changed."""
        await self._send_in_order(topics.STATUS, [*batch.tasks, *batch.statuses])

    async def _send_in_order(self, topic: str, events: Sequence[Message]) -> None:
        if events:  # one request for them all, as the producer batches them
            traceparent = tracing.traceparent()
            records = [
                (
                    topics.key(e.application_id),
                    dumps(wrap(self._signed(e), traceparent=traceparent)),
                )
                for e in events
            ]
            await self._producer.send_in_order(topic, records, headers=HEADERS)

    def _signed(self, event: Message) -> Message:
        """A status event as it reaches applicants: signed (commands are signed when made)."""
        if isinstance(event, ApplicationStatusChanged):
            return signed(event, self._statuses)
        return event
