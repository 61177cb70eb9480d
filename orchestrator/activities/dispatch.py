"""Activities: the only place the workflow touches Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

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
from one_things import UnknownOneThing
from one_things.licences import ELicence, content_hash
from orchestrator.errors import InvalidForm, RequestConflict
from orchestrator.intake.service import Intake, SubmitApplication
from orchestrator.stores.licences import LicenceLibrary
from orchestrator.workflow.models import (
    IssueLicences,
    PublishCommand,
    StartProactive,
    TaskAnswer,
    TaskState,
)
from orchestrator.workflow.names import (
    AWAIT_ANSWER,
    ISSUE_LICENCES,
    PUBLISH_COMMAND,
    PUBLISH_STATUS,
    PUBLISH_TASK_STATE,
    START_PROACTIVE,
)

SENT = {
    Action.HANDLE: TaskState.DISPATCHED.value,
    Action.COMPENSATE: "compensation_sent",
    Action.VOID: "void_notice_sent",
}


@activity.defn(name=AWAIT_ANSWER)
async def await_answer() -> TaskAnswer:
    """Wait for the department: the results bridge completes this activity with its answer."""
    activity.raise_complete_async()


class TaskActivities:
    """Publishes commands and status events with one shared producer."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer

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
            reply_token=inp.reply_token,
            trace_id=inp.trace_id,
        )
        dispatched = TaskStateChanged(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            department=inp.task.department,
            state=SENT[inp.action],
            attempt=inp.attempt,
            at=datetime.now(UTC),
        )
        await asyncio.gather(
            self._send(topics.department_tasks(inp.task.department), command),
            self._send(topics.STATUS, dispatched),
        )

    @activity.defn(name=PUBLISH_STATUS)
    async def publish_status(self, event: ApplicationStatusChanged) -> None:
        """Tell notification consumers that an application changed status."""
        await self._send(topics.STATUS, event)

    @activity.defn(name=PUBLISH_TASK_STATE)
    async def publish_task_state(self, event: TaskStateChanged) -> None:
        """Tell operators that a task was escalated or could not be undone."""
        await self._send(topics.STATUS, event)


class ProactiveActivities:
    """Starts the one things an approval starts by itself (免申即享)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @activity.defn(name=START_PROACTIVE)
    async def start_proactive(self, inp: StartProactive) -> str:
        """Start it once: the request id names the parent and the one thing, so a retry finds it
        started, and two one things started by one parent do not collide."""
        body = SubmitApplication.model_validate(
            {"one_thing": inp.one_thing, "applicant": inp.applicant, "form": inp.form}
        )
        try:
            started = await self._intake.start(
                body,
                f"proactive/{inp.parent_id}/{inp.one_thing}",
                inp.submitted_by or "proactive",
            )
        except (UnknownOneThing, InvalidForm, RequestConflict) as exc:
            raise ApplicationError(f"{inp.one_thing}: {exc}", non_retryable=True) from exc
        return started.id


class LicenceActivities:
    """Keeps the e-licences of approved applications in the e-licence library."""

    def __init__(self, library: LicenceLibrary) -> None:
        self._library = library

    @activity.defn(name=ISSUE_LICENCES)
    async def issue_licences(self, inp: IssueLicences) -> None:
        today = datetime.now(UTC).date()
        self._library.issue(
            ELicence(
                id=lic.id,
                type=lic.type,
                issuer=lic.issuer,
                holder=lic.holder,
                issued_on=today,
                content_hash=content_hash(lic.type, lic.issuer, lic.holder, lic.data),
                data=lic.data,
                application_id=inp.application_id,
                task_id=lic.task_id,
            )
            for lic in inp.licences
        )
