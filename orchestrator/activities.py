"""Activities: the only place the workflow touches Kafka."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
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
from one_things import UnknownOneThing
from one_things.licences import ELicence, content_hash
from orchestrator.intake import Intake, InvalidForm, RequestConflict, SubmitApplication
from orchestrator.licences import LicenceLibrary
from orchestrator.models import (
    DispatchTask,
    IssueLicences,
    StartProactive,
    TaskAnswer,
    TaskState,
)
from orchestrator.workflows import (
    DISPATCH_TASK,
    ISSUE_LICENCES,
    PUBLISH_STATUS,
    PUBLISH_TASK_STATE,
    START_PROACTIVE,
)

SENT = {
    Action.HANDLE: TaskState.DISPATCHED.value,
    Action.COMPENSATE: "compensation_sent",
    Action.VOID: "void_notice_sent",
}


def encode_token(task_token: bytes) -> str:
    return base64.urlsafe_b64encode(task_token).decode()


def decode_token(reply_token: str) -> bytes:
    return base64.urlsafe_b64decode(reply_token.encode())


class TaskActivities:
    """Publishes commands and status events with one shared idempotent producer."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def _send(self, topic: str, event: Message) -> None:
        await self._producer.send_and_wait(
            topic, dumps(wrap(event)), key=topics.key(event.application_id), headers=HEADERS
        )

    @activity.defn(name=DISPATCH_TASK)
    async def dispatch_task(self, inp: DispatchTask) -> TaskAnswer:
        """Publish the task command, then wait: the results bridge completes this activity."""
        info = activity.info()
        now = datetime.now(UTC)
        assert info.start_to_close_timeout is not None
        if info.attempt > 1:  # the attempt before ran out of its time limit (or answered failed)
            activity.metric_meter().create_counter(
                "onething_redispatches", "Dispatches after a time limit ran out or a failure."
            ).add(1, {"department": inp.task.department})
        command = TaskCommand(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            attempt=inp.attempts_before + info.attempt,
            one_thing=inp.one_thing,
            matter=inp.task.matter,
            department=inp.task.department,
            action=inp.action,
            payload=inp.payload,
            deadline=now + info.start_to_close_timeout,
            reply_token=encode_token(info.task_token),
            trace_id=inp.trace_id,
        )
        dispatched = TaskStateChanged(
            application_id=inp.application_id,
            task_id=inp.task.task_id,
            department=inp.task.department,
            state=SENT[inp.action],
            attempt=inp.attempts_before + info.attempt,
            at=now,
        )
        await asyncio.gather(
            self._send(topics.department_tasks(inp.task.department), command),
            self._send(topics.STATUS, dispatched),
        )
        activity.raise_complete_async()

    @activity.defn(name=PUBLISH_STATUS)
    async def publish_status(self, event: ApplicationStatusChanged) -> None:
        """Tell notification consumers that an application changed status."""
        await self._send(topics.STATUS, event)

    @activity.defn(name=PUBLISH_TASK_STATE)
    async def publish_task_state(self, event: TaskStateChanged) -> None:
        """Tell operators and notification consumers that a task changed state (escalated)."""
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
