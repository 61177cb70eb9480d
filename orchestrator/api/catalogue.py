"""What the API shows of the catalogue: one things, their forms as JSON Schema, and the
check of a supplement against what its department asked for and may see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from one_things import OneThing, form_model
from one_things.departments import DEPARTMENTS


class OneThingSummary(BaseModel):
    id: str
    version: str
    title: str
    description: str
    applicants: list[str] = Field(description="Who may apply: person, enterprise.")
    matters: list[dict[str, str]]
    form: dict[str, dict[str, Any]]
    materials: list[dict[str, Any]] = Field(
        description="The set of materials (一套材料): when each is needed, what waives it, "
        "whether it may be promised (容缺) or replaced by a commitment (告知承诺)."
    )
    example: dict[str, Any]


def summary(ot: OneThing) -> OneThingSummary:
    return OneThingSummary(
        id=ot.id,
        version=ot.version,
        title=ot.title,
        description=ot.description.strip(),
        applicants=[kind.value for kind in ot.applicants],
        matters=[
            {
                "id": m.id,
                "title": m.title,
                "department": m.department,
                "department_name": DEPARTMENTS[m.department],
            }
            for m in ot.matters
        ],
        form={k: v.model_dump(exclude_none=True) for k, v in ot.form.items()},
        materials=[m.model_dump(mode="json", exclude_defaults=True) for m in ot.materials],
        example=ot.example.model_dump(mode="json"),
    )


def form_json_schema(ot: OneThing) -> dict[str, Any]:
    """JSON Schema of the form; `x-pii` marks personal data, `x-prefill` its e-licence source,
    `x-party` whom an ID number or credit code may name (`applicant`: filled from the
    applicant; `represented`: the applicant or someone they represent; `verified`: anyone,
    the department verifies the relation)."""
    schema = form_model(ot).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = ot.title
    for name, spec in ot.form.items():
        schema["properties"][name]["x-pii"] = spec.pii
        if spec.prefill:
            schema["properties"][name]["x-prefill"] = spec.prefill
        if spec.party is not None:
            schema["properties"][name]["x-party"] = spec.party.value
    return schema


def check_supplement(
    one_thing: OneThing, matter: str, asked: list[str], fields: dict[str, Any]
) -> None:
    """The fields a department asked for, each granted to its matter and valid; else 422."""
    granted = set(one_thing.matter(matter).inputs)
    model = form_model(one_thing)
    errors: list[dict[str, Any]] = []
    for name in sorted(set(asked) - set(fields)):
        errors.append(
            {
                "type": "missing",
                "loc": ("body", "fields", name),
                "msg": "the department asked for this field",
                "input": None,
            }
        )
    for name, value in fields.items():
        where = ("body", "fields", name)
        if name not in asked or name not in granted or name not in model.model_fields:
            errors.append(
                {
                    "type": "value_error",
                    "loc": where,
                    "input": value,
                    "msg": f"not asked for by the department of {matter}",
                }
            )
            continue
        info = model.model_fields[name]
        try:
            TypeAdapter(Annotated[info.annotation, info]).validate_python(value)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors += [{**e, "loc": where} for e in exc.errors()]
    if errors:
        raise RequestValidationError(errors)
