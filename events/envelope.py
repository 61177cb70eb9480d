"""CloudEvents 1.0 structured envelope, serialised with orjson."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, create_model

from events.contracts import (
    ApplicationRequested,
    ApplicationStatusChanged,
    Message,
    PoorRatingReceived,
    TaskCommand,
    TaskResult,
    TaskStateChanged,
)

SOURCE = "urn:onething:orchestrator"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
# Kafka headers of every enveloped message: CloudEvents' Kafka binding, structured mode.
HEADERS = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]

DataT = TypeVar("DataT", bound=BaseModel)

EVENT_TYPES: dict[type[BaseModel], str] = {
    TaskCommand: "org.onething.task.command.v1",
    TaskResult: "org.onething.task.result.v1",
    ApplicationStatusChanged: "org.onething.application.status_changed.v1",
    TaskStateChanged: "org.onething.task.state_changed.v1",
    PoorRatingReceived: "org.onething.rating.poor.v1",
    ApplicationRequested: "org.onething.application.requested.v1",
}


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 structured-mode event; `subject` is the application id.

    Extension attributes (`traceparent`, say) are accepted and kept, as CloudEvents allows.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1, description="The application id.")
    time: datetime | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: DataT


def _envelope(contract: type[BaseModel]) -> type[CloudEvent[Any]]:
    """The envelope of one contract, its `type` pinned."""
    pinned = Literal[EVENT_TYPES[contract]]  # type: ignore[valid-type]
    return create_model(
        f"{contract.__name__}Event",
        __base__=CloudEvent[contract],  # type: ignore[valid-type]
        type=(pinned, Field(description="The event type of this contract.")),
    )


ENVELOPES: dict[type[BaseModel], type[CloudEvent[Any]]] = {
    contract: _envelope(contract) for contract in EVENT_TYPES
}


def wrap(data: Message, *, source: str = SOURCE, traceparent: str | None = None) -> CloudEvent[Any]:
    """Put a contract into its envelope; the subject is its application id; `traceparent`
    (W3C trace context, CloudEvents' distributed tracing extension) when tracing is on."""
    extensions = {"traceparent": traceparent} if traceparent else {}
    return ENVELOPES[type(data)](
        specversion="1.0",
        id=uuid.uuid4().hex,
        source=source,
        type=EVENT_TYPES[type(data)],
        subject=data.application_id,
        time=datetime.now(UTC),
        data=data,
        **extensions,
    )


def traceparent_of(event: CloudEvent[Any]) -> str | None:
    """The W3C trace context the event was sent in, if any."""
    found = (event.model_extra or {}).get("traceparent")
    return found if isinstance(found, str) else None


def dumps(event: CloudEvent[Any]) -> bytes:
    """Serialise an envelope to JSON bytes."""
    return orjson.dumps(event.model_dump(mode="json"))


def loads(raw: bytes, data_type: type[DataT]) -> CloudEvent[DataT]:
    """Parse and validate JSON bytes as an envelope holding `data_type`.

    Raises `pydantic.ValidationError` (its `type` is pinned, too) or `orjson.JSONDecodeError`.
    """
    event: CloudEvent[DataT] = ENVELOPES[data_type].model_validate(orjson.loads(raw))
    return event
