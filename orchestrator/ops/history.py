"""An application's story, read from its workflow history (what `onething ops show` prints)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec

from orchestrator.workflow.names import AWAIT_ANSWER


class Step(BaseModel):
    """One thing that happened to an application, in the order Temporal recorded it."""

    at: datetime
    event: str
    task: str = ""
    department: str = ""
    detail: str = ""


def _first(payloads: Payloads) -> Any:
    return orjson.loads(payloads.payloads[0].data) if payloads.payloads else None


async def readable(history: WorkflowHistory, codec: PayloadCodec | None) -> WorkflowHistory:
    """The history with every payload decrypted (ciphertext in Temporal): inputs, results,
    updates, memos, headers and failures' encoded attributes alike."""
    if codec is not None:
        for event in history.events:
            await _decode(event, codec)
    return history


async def _decode(message: Message, codec: PayloadCodec) -> None:
    if isinstance(message, Payload):
        message.CopyFrom((await codec.decode([message]))[0])
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if not field.is_repeated:
            await _decode(value, codec)
            continue
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        for item in value.values() if is_map else value:
            if isinstance(item, Message):
                await _decode(item, codec)


def story(history: WorkflowHistory) -> list[Step]:
    """Submission, every command sent and answered, updates, time-outs and the end."""
    steps: list[Step] = []
    commands: dict[str, dict[str, Any]] = {}  # by the id of the activity awaiting the answer
    awaiting: dict[int, str] = {}  # scheduled event id -> that activity id
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            started = _first(event.workflow_execution_started_event_attributes.input)
            plan = started["plan"]
            detail = f"{plan['one_thing']} {plan['catalogue_version']}, {len(plan['tasks'])} tasks"
            steps.append(Step(at=at, event="submitted", detail=detail))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name != AWAIT_ANSWER:
                continue
            awaiting[event.event_id] = scheduled.activity_id
            command = commands[scheduled.activity_id] = _first(scheduled.input)
            action = command["action"]
            steps.append(
                Step(
                    at=at,
                    event="sent" if action == "handle" else f"{action} sent",
                    task=command["task_id"],
                    department=command["department"],
                    detail=", ".join(command["fields"]),
                )
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = event.activity_task_completed_event_attributes
            command = commands.get(awaiting.get(completed.scheduled_event_id, ""))
            if command is None:
                continue
            answer = _first(completed.result)
            detail = answer.get("reason") or ", ".join(
                f"{k}={v}" for k, v in answer["outputs"].items()
            )
            steps.append(
                Step(
                    at=at,
                    event=answer["outcome"],
                    task=command["task_id"],
                    department=command["department"],
                    detail=f"attempt {answer['attempt']}: {detail}".rstrip(": "),
                )
            )
        elif kind in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        ):
            attributes = (
                event.activity_task_timed_out_event_attributes
                if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
                else event.activity_task_failed_event_attributes
            )
            command = commands.get(awaiting.get(attributes.scheduled_event_id, ""))
            if command is not None:
                steps.append(
                    Step(
                        at=at,
                        event="no answer in time"
                        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
                        else "failed",
                        task=command["task_id"],
                        department=command["department"],
                        detail=attributes.failure.message,
                    )
                )
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            sent = _first(request.input.args) or {}
            steps.append(
                Step(
                    at=at,
                    event=request.input.name,
                    task=sent.get("task_id", ""),
                    detail=str(sent.get("reason") or sent.get("decision") or ""),
                )
            )
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            steps.append(Step(at=at, event="cancel requested"))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            progress = _first(event.workflow_execution_completed_event_attributes.result)
            steps.append(Step(at=at, event=progress["status"], detail=progress.get("reason") or ""))
    return steps
