"""Validation of what an applicant submits: the applicant and the one thing's form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from one_things.identity import check_credit_code, check_phone, check_resident_id
from one_things.schema import FieldType, FormField, OneThing

ResidentId = Annotated[str, AfterValidator(check_resident_id)]
CreditCode = Annotated[str, AfterValidator(check_credit_code)]
Phone = Annotated[str, AfterValidator(check_phone)]

# What a form renderer can check before submitting (check digits are checked on submission).
_PATTERNS: dict[FieldType, str] = {
    FieldType.RESIDENT_ID: r"^\d{17}[\dXx]$",
    FieldType.CREDIT_CODE: r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$",
    FieldType.PHONE: r"^1[3-9]\d{9}$",
}
_PYTHON_TYPES: dict[FieldType, Any] = {
    FieldType.STRING: str,
    FieldType.INTEGER: int,
    FieldType.BOOLEAN: bool,
    FieldType.DATE: dt.date,
    FieldType.RESIDENT_ID: ResidentId,
    FieldType.CREDIT_CODE: CreditCode,
    FieldType.PHONE: Phone,
}


class Applicant(BaseModel):
    """The person who submits, identified by resident ID number (统一身份认证)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=50)
    id_number: ResidentId = Field(
        json_schema_extra={"pattern": _PATTERNS[FieldType.RESIDENT_ID]},
        description="Resident ID number; its check digit is checked on submission.",
    )
    phone: Phone | None = Field(
        default=None, json_schema_extra={"pattern": _PATTERNS[FieldType.PHONE]}
    )


def _field(spec: FormField) -> tuple[Any, Any]:
    annotation: Any = _PYTHON_TYPES[spec.type]
    constraints: dict[str, Any] = {"title": spec.title}
    if spec.choices:
        annotation = Literal[tuple(spec.choices)]
    else:
        constraints.update(_constraints(spec))
    if not spec.required:
        return annotation | None, Field(default=None, **constraints)
    return annotation, Field(**constraints)


def _constraints(spec: FormField) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    if spec.type in _PATTERNS:
        constraints["json_schema_extra"] = {"pattern": _PATTERNS[spec.type]}
    if spec.max_length is not None:
        constraints["max_length"] = spec.max_length
    if spec.minimum is not None:
        constraints["ge"] = spec.minimum
    if spec.maximum is not None:
        constraints["le"] = spec.maximum
    if spec.type is FieldType.STRING:
        constraints["min_length"] = 1
    return constraints


_FORM_MODELS: dict[tuple[str, str], type[BaseModel]] = {}


def form_model(one_thing: OneThing) -> type[BaseModel]:
    """A pydantic model of the one thing's form: unknown fields are errors."""
    key = (one_thing.id, one_thing.version)
    if key not in _FORM_MODELS:
        fields = {name: _field(spec) for name, spec in one_thing.form.items()}
        _FORM_MODELS[key] = create_model(  # type: ignore[call-overload]
            f"{one_thing.id}_form",
            __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
            **fields,
        )
    return _FORM_MODELS[key]
