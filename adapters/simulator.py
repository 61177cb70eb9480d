"""Simulated department systems for demos and tests, described by data, one program for all.

A simulator answers after its latency, rejects by the rules below, and issues the outputs the
catalogue declares for the matter. Outputs derive from the idempotency key, so a repeated
command gets the same answer: the simulated department never does the same thing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass

from adapters.base import DepartmentAdapter, answer
from events.contracts import Action, Outcome, TaskCommand, TaskResult
from one_things.identity import credit_code_check_char, resident_id_check_digit
from one_things.loader import Catalogue


@dataclass(frozen=True)
class RejectionRule:
    """Reject `matter` when payload `field` contains any of `words` (or matches `pattern`)."""

    department: str
    matter: str
    field: str
    reason: str
    words: tuple[str, ...] = ()
    pattern: str | None = None

    def rejects(self, command: TaskCommand) -> bool:
        value = str(command.payload.get(self.field, ""))
        if any(word in value for word in self.words):
            return True
        return self.pattern is not None and re.search(self.pattern, value) is not None


RULES: tuple[RejectionRule, ...] = (
    RejectionRule(
        "amr",
        "business_registration",
        "company_name",
        "企业名称含禁限用字词 the company name uses a restricted word (国家/中华/全国/中央)",
        words=("国家", "中华", "全国", "中央"),
    ),
    RejectionRule(
        "tax",
        "tax_registration",
        "registered_address",
        "虚拟地址不予登记 a virtual office cannot be the registered address",
        words=("虚拟",),
    ),
    RejectionRule(
        "bank",
        "bank_account",
        "bank_branch",
        "网点已撤销 the chosen bank branch is closed",
        words=("已撤销",),
    ),
    RejectionRule(
        "psb",
        "hukou_registration",
        "baby_name",
        "姓名须使用规范汉字 the name must be written in standard Chinese characters",
        pattern=r"[A-Za-z0-9]",
    ),
    RejectionRule(
        "nhc",
        "birth_medical_certificate",
        "birth_hospital",
        "非助产机构 the hospital is not a registered midwifery institution",
        words=("未备案",),
    ),
)


@dataclass(frozen=True)
class SupplementRule:
    """Ask for `fields` when the payload of `matter` lacks any of them (补正)."""

    department: str
    matter: str
    fields: tuple[str, ...]
    reason: str

    def missing(self, command: TaskCommand) -> list[str]:
        return [f for f in self.fields if not command.payload.get(f)]


@dataclass(frozen=True)
class SilenceRule:
    """Give no answer before attempt `answers_from` when `field` contains any of `words`."""

    department: str
    matter: str
    field: str
    words: tuple[str, ...]
    answers_from: int

    def silent(self, command: TaskCommand) -> bool:
        value = str(command.payload.get(self.field, ""))
        return command.attempt < self.answers_from and any(w in value for w in self.words)


SUPPLEMENTS: tuple[SupplementRule, ...] = (
    SupplementRule(
        "hrss",
        "social_insurance",
        ("payroll_certificate_ref",),
        "需补正工资发放证明 a payroll certificate is needed to register employees",
    ),
)
SILENCES: tuple[SilenceRule, ...] = (
    SilenceRule("hpf", "housing_fund", "company_name", ("迟复",), answers_from=3),
)


def _digits(seed: str, n: int) -> str:
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(digest % 10**n).zfill(n)


def issue(output: str, department: str, command: TaskCommand) -> str:
    """A plausible, deterministic value for one output of a command."""
    seed = f"{command.idempotency_key}/{output}"
    if output.endswith("credit_code"):
        first17 = "91440101" + "MA" + _digits(seed, 7)
        return first17 + credit_code_check_char(first17)
    if output.endswith("id_number"):
        born = str(command.payload.get("birth_date", "2026-01-01")).replace("-", "")
        first17 = "440106" + born + _digits(seed, 3)
        return first17 + resident_id_check_digit(first17)
    return f"{department.upper()}-{_digits(seed, 10)}"


class SimulatedDepartment(DepartmentAdapter):
    """A department system that answers by rule after a fixed latency."""

    def __init__(self, department: str, catalogue: Catalogue, latency: float) -> None:
        self.department = department
        self.latency = latency
        self._outputs = {
            (ot.id, m.id): m.outputs
            for ot in catalogue
            for m in ot.matters
            if m.department == department
        }
        self._rules = [r for r in RULES if r.department == department]
        self._supplements = [r for r in SUPPLEMENTS if r.department == department]
        self._silences = [r for r in SILENCES if r.department == department]

    async def handle(self, command: TaskCommand) -> TaskResult | None:
        await asyncio.sleep(self.latency)
        reference = f"{self.department.upper()}-REF-{_digits(command.idempotency_key, 8)}"
        if command.action in (Action.COMPENSATE, Action.VOID):
            return answer(command, Outcome.COMPENSATED, department_reference=reference)
        outputs = self._outputs.get((command.one_thing, command.matter))
        if outputs is None:
            return answer(command, Outcome.REJECTED, reason=f"{command.matter!r} is not ours")
        for rule in self._rules:
            if rule.matter == command.matter and rule.rejects(command):
                return answer(
                    command, Outcome.REJECTED, reason=rule.reason, department_reference=reference
                )
        for silence in self._silences:
            if silence.matter == command.matter and silence.silent(command):
                return None
        for supplement in self._supplements:
            if supplement.matter == command.matter and (missing := supplement.missing(command)):
                return answer(
                    command,
                    Outcome.SUPPLEMENT_REQUIRED,
                    reason=supplement.reason,
                    supplement_fields=missing,
                )
        issued = {name: issue(name, self.department, command) for name in outputs}
        return answer(command, Outcome.APPROVED, outputs=issued, department_reference=reference)
