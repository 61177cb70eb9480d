"""Message contracts between the orchestrator and the departments.

Commands are imperative (`TaskCommand`), events past tense (`ApplicationStatusChanged`);
a `TaskResult` is a department's answer to one command attempt.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"


class Action(StrEnum):
    """What a department is asked to do with a task."""

    HANDLE = "handle"
    COMPENSATE = "compensate"
    VOID = "void"


class Outcome(StrEnum):
    """A department's answer to a task command."""

    ACCEPTED = "accepted"  # taken in, no decision yet: an interim answer, the task still waits
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPPLEMENT_REQUIRED = "supplement_required"
    FAILED = "failed"
    COMPENSATED = "compensated"


class Contract(BaseModel):
    """Base of every contract: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def without_values(errors: Sequence[Any]) -> str:
    """Pydantic's errors naming each field and what is wrong, never the value sent: reasons
    end up in dead letters and logs, and values may be personal data."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in errors
    )


def idempotency_key(application_id: str, task_id: str, action: Action) -> str:
    """The key a department uses to recognise a repeated command: same for every attempt."""
    return f"{application_id}/{task_id}/{action.value}"


class CommandMaterial(Contract):
    """A material of the application that the matter receives, as the applicant settled it."""

    title: str
    settled: str = Field(
        description="provided (fetch it by `url`), waived (an e-licence proves it: 免提交), "
        "promised (容缺: it comes by `due`) or committed (告知承诺: verify the commitment)."
    )
    sha256: str | None = Field(default=None, description="The content's hash, to check.")
    url: str | None = Field(default=None, description="The authorised link to fetch it by.")
    licence_id: str | None = Field(default=None, description="The e-licence that proves it.")
    due: datetime | None = None


class SignedByOneThing(Contract):
    """A message OneThing signs, so no one who can merely write its topic speaks for it."""

    signature_key_id: str | None = Field(
        default=None, max_length=64, description="The id of OneThing's key that signed it."
    )
    signature: str | None = Field(
        default=None,
        max_length=100,
        description="Ed25519 by OneThing's key `signature_key_id` (its command key for a "
        "command, its status key for a status event) over every other field "
        "(events.proof), base64url: without it, or if it does not verify, the message is "
        "not OneThing's and is not acted on (a department does not act, no applicant is told).",
    )


class TaskCommand(SignedByOneThing):
    """Ask a department to handle (or undo) one matter of one application."""

    application_id: str = Field(pattern=ID_PATTERN)
    task_id: str = Field(pattern=ID_PATTERN)
    attempt: int = Field(ge=1, description="1 for the first dispatch, +1 for every re-dispatch.")
    one_thing: str
    matter: str
    department: str
    action: Action = Action.HANDLE
    idempotency_key: str = Field(
        default="",
        description="application_id/task_id/action: the same for every attempt of this command.",
    )
    payload: dict[str, JsonValue] = Field(
        description="Only the form fields and upstream outputs the catalogue grants this matter."
    )
    materials: dict[str, CommandMaterial] = Field(
        default_factory=dict, description="The application's materials this matter receives."
    )
    deadline: datetime = Field(description="Answer before this time or the task is re-dispatched.")
    reply_token: str = Field(min_length=1, description="Echo it unchanged in the TaskResult.")
    trace_id: str

    @model_validator(mode="after")
    def _key_matches(self) -> Self:
        expected = idempotency_key(self.application_id, self.task_id, self.action)
        if not self.idempotency_key:
            object.__setattr__(self, "idempotency_key", expected)
        elif self.idempotency_key != expected:
            raise ValueError(f"idempotency_key must be {expected!r}")
        return self


class TaskResult(Contract):
    """A department's answer to one attempt of a task command."""

    application_id: str = Field(pattern=ID_PATTERN)
    task_id: str = Field(pattern=ID_PATTERN)
    attempt: int = Field(ge=1)
    department: str
    reply_token: str = Field(min_length=1, description="The reply token of the command answered.")
    outcome: Outcome
    outputs: dict[str, str] = Field(
        default_factory=dict, description="Licence numbers, e-licence references, …"
    )
    reason: str | None = Field(default=None, description="Why, readable by the applicant.")
    supplement_fields: list[str] = Field(default_factory=list)
    department_reference: str | None = None
    proof: str | None = Field(
        default=None,
        max_length=100,
        description="Ed25519 signature by the department's own private key over its answer "
        "(events.proof.result_signing_bytes), base64url without padding: without it the "
        "answer is not taken.",
    )
    proof_key_id: str | None = Field(
        default=None,
        max_length=64,
        description="The id of the department's key that made `proof` (OneThing holds its "
        "public key under this id).",
    )

    @model_validator(mode="after")
    def _reason_when_refused(self) -> Self:
        refused = {Outcome.REJECTED, Outcome.FAILED, Outcome.SUPPLEMENT_REQUIRED}
        if self.outcome in refused and not self.reason:
            raise ValueError(f"a {self.outcome.value} result needs a reason")
        return self


class ApplicationStatusChanged(SignedByOneThing):
    """An application changed status (for notifications to the applicant)."""

    application_id: str = Field(pattern=ID_PATTERN)
    one_thing: str
    status: str = Field(description="running, approved, rejected, …")
    reason: str | None = None
    at: datetime


class TaskStateChanged(Contract):
    """One task of an application changed state (published by the workflow only)."""

    application_id: str = Field(pattern=ID_PATTERN)
    task_id: str = Field(pattern=ID_PATTERN)
    department: str
    state: str = Field(
        description="The state the task entered, one entry of its timeline in the progress "
        "document's vocabulary: dispatched, accepted, approved, rejected, failed, "
        "awaiting_supplement, escalated, cancelled, compensating, compensated, voided, "
        "undo_refused, undo_escalated."
    )
    attempt: int = Field(ge=1)
    at: datetime


class PoorRatingReceived(Contract):
    """An applicant rated a task (or, task `*`, the whole application) 2 or less (差评): the
    department follows it up."""

    application_id: str = Field(pattern=ID_PATTERN)
    task_id: str = Field(pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]{0,127})$")
    department: str
    matter: str
    score: int = Field(ge=1, le=5)
    comment: str
    reasons: list[str] = Field(default_factory=list, description="Why, as the scheme lists.")
    due_at: datetime | None = Field(default=None, description="Its follow-up is due by then.")
    at: datetime


class ApplicationRequested(Contract):
    """A portal asks for an application (asynchronous intake on onething.applications)."""

    request_id: str = Field(
        pattern=ID_PATTERN,
        description="Chosen by the sender; a request id seen before starts nothing new.",
    )
    one_thing: str
    applicant: dict[str, JsonValue] = Field(
        description="name, id_type, id_number, nationality, phone, representative."
    )
    form: dict[str, JsonValue]
    materials: dict[str, str] = Field(
        default_factory=dict,
        description="Material -> the sha256 of its upload, `promise` or `commitment`.",
    )
    sealed_assertion: str | None = Field(
        default=None,
        max_length=8192,
        description="The identity provider's signed assertion (JWT) that the applicant is who "
        "`applicant` names, sealed by OneThing for the portal (POST /v1/sealed-assertions): "
        "never the assertion in clear. Without it nothing starts.",
    )
    signature_key_id: str | None = Field(
        default=None, max_length=64, description="The id of the portal's request key."
    )
    signature: str | None = Field(
        default=None,
        max_length=100,
        description="Ed25519 by the portal's own request key (never its API key) over its "
        "request and the event's source (events.proof.request_signing_bytes), base64url: "
        "without it nothing starts.",
    )

    @property
    def application_id(self) -> str:
        """Requests are keyed by their request id (the application's id derives from it)."""
        return self.request_id


Message = (
    TaskCommand
    | TaskResult
    | ApplicationStatusChanged
    | TaskStateChanged
    | PoorRatingReceived
    | ApplicationRequested
)
"""What travels in a CloudEvent envelope, keyed by its application (or request) id."""

CONTRACTS: tuple[type[Contract], ...] = (
    TaskCommand,
    TaskResult,
    ApplicationStatusChanged,
    TaskStateChanged,
    PoorRatingReceived,
    ApplicationRequested,
)

__all__ = [
    "CONTRACTS",
    "Action",
    "ApplicationRequested",
    "ApplicationStatusChanged",
    "Contract",
    "DeadLetter",
    "Message",
    "Outcome",
    "PoorRatingReceived",
    "TaskCommand",
    "TaskResult",
    "TaskStateChanged",
    "idempotency_key",
]


class DeadLetter(Contract):
    """A message that could not be parsed or applied, kept with the reason (topic onething.dlq)."""

    reason: str
    topic: str
    partition: int
    offset: int
    original: str = Field(
        description="The original message bytes, base64: sealed (AES-256-GCM, nonce first) "
        "under the payload key `key_id`, for they may hold personal data; plain if it is none."
    )
    key_id: str | None = None
    at: datetime

    @classmethod
    def of(
        cls,
        reason: str,
        original: bytes,
        key_id: str | None,
        where: tuple[str, int, int],
    ) -> DeadLetter:
        """`original` sealed under `key_id` already; `where` is (topic, partition, offset)."""
        topic, partition, offset = where
        return cls(
            reason=reason[:2000],
            topic=topic,
            partition=partition,
            offset=offset,
            original=base64.b64encode(original).decode(),
            key_id=key_id,
            at=datetime.now(UTC),
        )

    def encode(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))
