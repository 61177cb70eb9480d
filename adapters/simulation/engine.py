"""The one simulator program: a department system that behaves as its spec says.

Outputs derive from the idempotency key, so a repeated command gets the same answer: the
simulated department never does the same thing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from adapters.base import AdapterError, DepartmentAdapter, answer
from adapters.simulation.spec import DepartmentSpec
from events.contracts import Action, Outcome, TaskCommand, TaskResult
from one_things.identity import credit_code_check_char, resident_id_check_digit
from one_things.loader import Catalogue


def _digits(seed: str, n: int) -> str:
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(digest % 10**n).zfill(n)


def issue(fmt: str, seed: str, command: TaskCommand) -> str:
    """A plausible, deterministic value in format `fmt` (see `DepartmentSpec.issues`)."""
    if fmt == "credit_code":
        first17 = "91440101" + "MA" + _digits(seed, 7)
        return first17 + credit_code_check_char(first17)
    if fmt == "resident_id":
        born = str(command.payload.get("birth_date", "2026-01-01")).replace("-", "")
        first17 = "440106" + born + _digits(seed, 3)
        return first17 + resident_id_check_digit(first17)
    digits = iter(_digits(seed, max(fmt.count("#"), 1)))
    return re.sub("#", lambda _: next(digits), fmt)


class SystemDown(AdapterError):
    """The simulated system fails this call (its HTTP service answers 503)."""


class SimulatedDepartment(DepartmentAdapter):
    """Answers by its spec's rules after its latency."""

    def __init__(self, spec: DepartmentSpec, catalogue: Catalogue, latency: float) -> None:
        self.spec = spec
        self.department = spec.department
        self.latency = latency
        self.matters = {
            key: m for key, m in catalogue.matters().items() if m.department == self.department
        }

    def reference(self, command: TaskCommand) -> str:
        return f"{self.department.upper()}-REF-{_digits(command.idempotency_key, 8)}"

    async def handle(self, command: TaskCommand) -> TaskResult | None:
        await asyncio.sleep(self.latency)
        reference = self.reference(command)
        if command.action in (Action.COMPENSATE, Action.VOID):
            return self._undo(command, reference)
        matter = self.matters.get((command.one_thing, command.matter))
        if matter is None:
            return answer(command, Outcome.REJECTED, reason=f"{command.matter!r} is not ours")
        payload = dict(command.payload)
        for check in self.spec.checks:
            if check.applies(command.one_thing, matter.id) and check.rejects(payload):
                return answer(
                    command, Outcome.REJECTED, reason=check.reason, department_reference=reference
                )
        for silence in self.spec.silences:
            if silence.applies(command.one_thing, matter.id) and silence.silent(
                payload, command.attempt
            ):
                return None
        for rule in self.spec.supplements:
            if rule.applies(command.one_thing, matter.id) and (missing := rule.missing(payload)):
                return answer(
                    command,
                    Outcome.SUPPLEMENT_REQUIRED,
                    reason=rule.reason,
                    supplement_fields=missing,
                )
        omitted = {
            name
            for rule in self.spec.omissions
            if rule.applies(command.one_thing, matter.id) and rule.omits(payload)
            for name in rule.outputs
        }
        issued = {
            name: issue(self.spec.issues[name], f"{command.idempotency_key}/{name}", command)
            for name in matter.outputs
            if name not in omitted
        }
        return answer(command, Outcome.APPROVED, outputs=issued, department_reference=reference)

    def _undo(self, command: TaskCommand, reference: str) -> TaskResult:
        """Undo a task: the record the command names matches a refusal, a failure, or neither."""
        for failure in self.spec.undo_failures:
            if failure.applies(command.one_thing, command.matter) and failure.rejects(
                command.payload
            ):
                raise SystemDown(failure.reason)
        for refusal in self.spec.undo_refusals:
            if refusal.applies(command.one_thing, command.matter) and refusal.rejects(
                command.payload
            ):
                return answer(
                    command, Outcome.REJECTED, reason=refusal.reason, department_reference=reference
                )
        return answer(command, Outcome.COMPENSATED, department_reference=reference)

    def undo_state(self, command: TaskCommand) -> str:
        """What the record of the handled task becomes when `command` undoes it."""
        matter = self.matters.get((command.one_thing, command.matter))
        if command.action is Action.VOID or matter is None or matter.compensation is None:
            return "voided"
        return self.spec.undo[matter.compensation]
