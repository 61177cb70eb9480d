"""What the catalogue asks of one department: per matter it handles, what it receives, what
an approval must return, how it is undone, its time limit. Generated, so a department builds
on it without reading our YAML (`onething schemas export` writes it,
`GET /v1/departments/{code}/contract` serves it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from one_things.errors import UnknownDepartment
from one_things.loader import Catalogue
from one_things.schema import FormField, Matter

LONGEST_OUTPUT = 256


class MatterContract(BaseModel):
    one_thing: str
    matter: str
    title: str
    time_limit: str = Field(description="承诺时限: working days (P5WD) or an ISO 8601 duration.")
    time_limit_seconds: float | None = Field(
        description="A duration's seconds; for working days, each command's deadline says when."
    )
    receives: list[str] = Field(description="The payload fields a command carries, no other.")
    returns_on_approval: list[str] = Field(
        description="The outputs an `approved` answer must carry, no more, no fewer."
    )
    e_licences: dict[str, str] = Field(description="output -> the e-licence type it becomes.")
    undo: str = Field(description="`compensate` (undo it) or `void` (record it void).")
    compensation: str | None = Field(description="What the undo does, for a compensation.")
    approved_answer: dict[str, Any] = Field(
        description="JSON Schema of an approved TaskResult's `data` for this matter."
    )
    parties: dict[str, str] = Field(
        default_factory=dict,
        description="Each received field that names a person or an enterprise, and how it "
        "relates to the applicant: `applicant` or `represented` (OneThing checked it against "
        "the identity provider), or `verified`: yours to verify (kinship, office, "
        "guardianship) before you approve.",
    )


class DepartmentContract(BaseModel):
    department: str
    tasks_topic: str
    results_topic: str = "dept.results"
    consumer_group: str
    matters: list[MatterContract]


def department_contract(catalogue: Catalogue, department: str) -> DepartmentContract:
    matters = [
        (one_thing, m)
        for (one_thing, _), m in catalogue.matters().items()
        if m.department == department
    ]
    if not matters:
        raise UnknownDepartment(department)
    return DepartmentContract(
        department=department,
        tasks_topic=f"dept.{department}.tasks",
        consumer_group=f"dept-{department}",
        matters=[_matter(ot, m, catalogue.get(ot).form) for ot, m in matters],
    )


def _matter(one_thing: str, matter: Matter, form: dict[str, FormField]) -> MatterContract:
    upstream = [ref.partition(".")[2] for ref in matter.upstream]
    parties = {
        name: spec.party.value
        for name in matter.inputs
        if (spec := form.get(name)) is not None and spec.party is not None
    }
    duration = matter.time_limit.duration
    return MatterContract(
        one_thing=one_thing,
        matter=matter.id,
        title=matter.title,
        time_limit=str(matter.time_limit),
        time_limit_seconds=None if duration is None else duration.total_seconds(),
        receives=sorted({*matter.inputs, *upstream}),
        returns_on_approval=list(matter.outputs),
        e_licences=dict(matter.licences),
        undo="void" if matter.irreversible else "compensate",
        compensation=matter.compensation,
        approved_answer=_approved_schema(matter),
        parties=parties,
    )


def _approved_schema(matter: Matter) -> dict[str, Any]:
    output = {"type": "string", "minLength": 1, "maxLength": LONGEST_OUTPUT}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"approved {matter.id}",
        "type": "object",
        "required": ["outcome", "outputs", "reply_token", "department", "proof", "proof_key_id"],
        "properties": {
            "outcome": {"const": "approved"},
            "department": {"const": matter.department},
            "outputs": {
                "type": "object",
                "properties": {name: output for name in matter.outputs},
                "required": list(matter.outputs),
                "additionalProperties": False,
            },
        },
    }


def export_contracts(catalogue: Catalogue, directory: Path) -> list[Path]:
    """`<directory>/departments/<code>.contract.json` for every department."""
    folder = directory / "departments"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for department in catalogue.departments():
        path = folder / f"{department}.contract.json"
        path.write_text(department_contract(catalogue, department).model_dump_json(indent=2))
        written.append(path)
    return written


def matters_by_department(catalogue: Catalogue) -> dict[str, list[str]]:
    """Per department, `one_thing/matter` of each matter, in the order of its contract."""
    return {
        department: [
            f"{m.one_thing}/{m.matter}" for m in department_contract(catalogue, department).matters
        ]
        for department in catalogue.departments()
    }
