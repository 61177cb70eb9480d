"""The adapter protocol: how a department's system is called for one task command."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from events.contracts import Outcome, TaskCommand, TaskResult
from events.proof import result_signing_bytes
from infra.settings import Settings
from infra.signing import Signer


class AdapterError(Exception):
    """Root of every error the adapters raise (a simulated system going down, say)."""


class DepartmentAdapter(ABC):
    """Calls one department's system and answers each command with a result."""

    department: str

    @abstractmethod
    async def handle(self, command: TaskCommand) -> TaskResult | None:
        """Handle (or undo) one command; the same idempotency key, the same answer.

        None: no answer now; the department answers later (the runtime says it took the
        command in, so it is not sent again).
        """


def answer(
    command: TaskCommand,
    outcome: Outcome,
    *,
    outputs: dict[str, str] | None = None,
    reason: str | None = None,
    supplement_fields: list[str] | None = None,
    department_reference: str | None = None,
) -> TaskResult:
    """The result answering `command`, echoing its attempt and reply token."""
    return TaskResult(
        application_id=command.application_id,
        task_id=command.task_id,
        attempt=command.attempt,
        department=command.department,
        reply_token=command.reply_token,
        outcome=outcome,
        outputs=outputs or {},
        reason=reason,
        supplement_fields=supplement_fields or [],
        department_reference=department_reference,
    )


def answer_from(command: TaskCommand, body: Mapping[str, Any]) -> TaskResult:
    """The result answering `command` from a department's answer document.

    The document has `outcome`, and optionally `outputs`, `reason`, `supplement_fields` and
    `reference` (how the HTTP and batch department systems answer).
    """
    return answer(
        command,
        Outcome(body["outcome"]),
        outputs=body.get("outputs") or {},
        reason=body.get("reason"),
        supplement_fields=body.get("supplement_fields"),
        department_reference=body.get("reference"),
    )


def signed(result: TaskResult, settings: Settings) -> TaskResult:
    """The result with its department's proof: our adapters answer for their departments,
    each with that department's own signing key. A department without one here gets no proof
    (the bridge refuses the answer)."""
    key = settings.answer_signing_key(result.department)
    if key is None:
        return result
    signer = _signer(*key)
    proof = signer.sign(result_signing_bytes(result.model_dump(mode="json")))
    return result.model_copy(update={"proof": proof, "proof_key_id": signer.key_id})


@functools.cache
def _signer(key_id: str, pem: str) -> Signer:
    return Signer(key_id, pem)
