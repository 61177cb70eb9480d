"""The adapter protocol: how a department's system is called for one task command."""

from __future__ import annotations

from abc import ABC, abstractmethod

from events.contracts import Outcome, TaskCommand, TaskResult


class DepartmentAdapter(ABC):
    """Calls one department's system and answers each command with a result."""

    department: str

    @abstractmethod
    async def handle(self, command: TaskCommand) -> TaskResult:
        """Handle (or compensate) one command; the same idempotency key, the same answer."""


def answer(
    command: TaskCommand,
    outcome: Outcome,
    *,
    outputs: dict[str, str] | None = None,
    reason: str | None = None,
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
        department_reference=department_reference,
    )
