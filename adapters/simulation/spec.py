"""What a simulated department system does, described by data: one YAML file per department.

A file says what the department issues (the format of each output), what it checks (rules that
reject, ask for a supplement or keep it silent), how it undoes each compensation the catalogue
names (and which undos it refuses or fails at), and its default latency and failure rate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from one_things.errors import CatalogueError
from one_things.loader import Catalogue

SPEC_DIR = Path(__file__).parent / "departments"
SPECIAL_FORMATS = ("credit_code", "resident_id")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(Strict):
    """A rule about one matter (of one one thing, if `one_thing` is given)."""

    matter: str
    one_thing: str | None = None

    def applies(self, one_thing: str, matter: str) -> bool:
        return self.matter == matter and self.one_thing in (None, one_thing)


class Check(Rule):
    """Reject `matter` when payload `field` contains any of `contains` (or matches `pattern`)."""

    field: str
    reason: str
    contains: tuple[str, ...] = ()
    pattern: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if not self.contains and self.pattern is None:
            raise ValueError("a check needs `contains` or `pattern`")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self

    def rejects(self, payload: Mapping[str, object]) -> bool:
        value = str(payload.get(self.field, ""))
        if any(word in value for word in self.contains):
            return True
        return self.pattern is not None and re.search(self.pattern, value) is not None


class Omission(Rule):
    """A careless system: approves `matter` but leaves `outputs` out when `field` holds any of
    `contains`."""

    field: str
    contains: tuple[str, ...] = Field(min_length=1)
    outputs: tuple[str, ...] = Field(min_length=1)

    def omits(self, payload: Mapping[str, object]) -> bool:
        value = str(payload.get(self.field, ""))
        return any(word in value for word in self.contains)


class UndoFailure(Check):
    """The department's system fails every undo of `matter` whose record matches (503)."""


class SupplementRule(Rule):
    """Ask for `fields` when the payload of `matter` lacks any of them (补正)."""

    fields: tuple[str, ...] = Field(min_length=1)
    reason: str

    def missing(self, payload: Mapping[str, object]) -> list[str]:
        return [f for f in self.fields if not payload.get(f)]


class Silence(Rule):
    """Give no answer before attempt `answers_from` when `field` contains any of `contains`."""

    field: str
    contains: tuple[str, ...] = Field(min_length=1)
    answers_from: int = Field(ge=2)

    def silent(self, payload: Mapping[str, object], attempt: int) -> bool:
        value = str(payload.get(self.field, ""))
        return attempt < self.answers_from and any(w in value for w in self.contains)


class DepartmentSpec(Strict):
    """One department's simulated system."""

    department: str
    system: str = Field(description="What the real system is called.")
    latency: float = Field(default=0.2, ge=0, description="Seconds to answer, by default.")
    failure_rate: float = Field(default=0.0, ge=0, le=1, description="Share of calls that 503.")
    issues: dict[str, str] = Field(
        description="output -> credit_code | resident_id | a template whose # are digits."
    )
    checks: tuple[Check, ...] = ()
    supplements: tuple[SupplementRule, ...] = ()
    silences: tuple[Silence, ...] = ()
    undo: dict[str, str] = Field(
        default_factory=dict, description="compensation -> the record's state once undone."
    )
    undo_refusals: tuple[Check, ...] = Field(
        default=(), description="Undos the department refuses (it cannot undo), with the reason."
    )
    undo_failures: tuple[UndoFailure, ...] = Field(
        default=(), description="Undos the department's system fails at (answers 503)."
    )
    omissions: tuple[Omission, ...] = Field(
        default=(), description="Approvals that carelessly leave outputs out."
    )


def load_specs(catalogue: Catalogue, directory: Path = SPEC_DIR) -> dict[str, DepartmentSpec]:
    """Every department's spec, checked against the catalogue it must serve."""
    specs: dict[str, DepartmentSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            spec = DepartmentSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise CatalogueError(path.name, ".".join(map(str, err["loc"])), err["msg"]) from exc
        if spec.department != path.stem:
            raise CatalogueError(path.name, "department", f"must equal {path.stem!r}")
        specs[spec.department] = spec
    for department in catalogue.departments():
        if department not in specs:
            raise CatalogueError(f"{department}.yaml", "<file>", "no simulator for the department")
        _check_covers(specs[department], catalogue)
    return specs


def _check_covers(spec: DepartmentSpec, catalogue: Catalogue) -> None:
    """The spec issues every output and undoes every compensation of its matters."""
    name = f"{spec.department}.yaml"
    matters = {k: m for k, m in catalogue.matters().items() if m.department == spec.department}
    for matter in matters.values():
        for output in matter.outputs:
            if output not in spec.issues:
                raise CatalogueError(name, "issues", f"no format for output {output!r}")
        if matter.compensation and matter.compensation not in spec.undo:
            raise CatalogueError(name, "undo", f"no undo for {matter.compensation!r}")
    rules: list[Rule] = [
        *spec.checks,
        *spec.supplements,
        *spec.silences,
        *spec.undo_refusals,
        *spec.undo_failures,
        *spec.omissions,
    ]
    for i, rule in enumerate(rules):
        if not any(rule.applies(one_thing, matter) for one_thing, matter in matters):
            raise CatalogueError(
                name, f"rules[{i}].matter", f"{rule.matter!r} is not a matter of {spec.department}"
            )
