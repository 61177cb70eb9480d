"""Validation of what an applicant submits: the applicant and the one thing's form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from one_things.identity import (
    check_credit_code,
    check_hk_macao_permit,
    check_passport,
    check_phone,
    check_resident_id,
    check_taiwan_permit,
)
from one_things.schema import ApplicantKind, FieldType, FormField, OneThing, Party

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


class IdType(StrEnum):
    """The document that identifies an applicant or whoever acts for one."""

    RESIDENT_ID = "resident_id"  # 居民身份证 (港澳台居民居住证 numbers follow the same rule)
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    PASSPORT = "passport"  # 护照 (a foreigner's, with the nationality)
    CREDIT_CODE = "credit_code"  # 统一社会信用代码: the applicant is an enterprise


def identity_key(id_type: IdType, number: str, nationality: str | None = None) -> str:
    """A person's or an enterprise's key in e-licences, pseudonyms and assertions: a resident
    ID's or a credit code's number as it is (their formats never meet, and keys kept before
    stay valid), a permit's type and number, a passport's nationality, type and number (a
    passport may carry the number of someone's permit, or of another country's passport)."""
    if id_type in (IdType.RESIDENT_ID, IdType.CREDIT_CODE):
        return number
    if id_type is IdType.PASSPORT:
        return f"PASSPORT:{nationality}:{number}"
    return f"{id_type.value.upper()}:{number}"


class ActingAs(StrEnum):
    """How someone acts for an applicant."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人, of an enterprise
    AGENT = "agent"  # 代办人, with a power of attorney (授权委托书)


_ID_CHECKS: dict[IdType, Callable[[str], str]] = {
    IdType.RESIDENT_ID: check_resident_id,
    IdType.HK_MACAO_PERMIT: check_hk_macao_permit,
    IdType.TAIWAN_PERMIT: check_taiwan_permit,
    IdType.PASSPORT: check_passport,
    IdType.CREDIT_CODE: check_credit_code,
}
SHA256 = r"^[0-9a-f]{64}$"


class _Identified(BaseModel):
    """A name and an identity document of a kind, its number checked by the kind's rule."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    id_type: IdType = IdType.RESIDENT_ID
    id_number: str = Field(
        min_length=5,
        max_length=18,
        description="The number of the `id_type` document; its check digit is checked.",
    )
    nationality: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 3166-1 alpha-3, for a passport.",
    )

    @property
    def key(self) -> str:
        """Who this is: one key per person or enterprise, whatever else holds the same number."""
        return identity_key(self.id_type, self.id_number, self.nationality)

    @model_validator(mode="after")
    def _number_of_its_kind(self) -> Self:
        try:
            checked = _ID_CHECKS[self.id_type](self.id_number)
        except ValueError as exc:
            raise ValueError(f"id_number: {exc}") from None
        object.__setattr__(self, "id_number", checked)
        if (self.id_type is IdType.PASSPORT) != (self.nationality is not None):
            raise ValueError("nationality: given with a passport, and only then")
        return self


class Representative(_Identified):
    """The person who acts for the applicant: an enterprise's legal representative or an
    agent; the identity provider vouches that they may, and an agent's power of attorney is
    a material of the application."""

    acting_as: ActingAs
    power_of_attorney: str | None = Field(
        default=None,
        pattern=SHA256,
        description="sha256 of the uploaded power of attorney (POST /v1/materials); an agent's.",
    )

    @model_validator(mode="after")
    def _a_person_with_authority(self) -> Self:
        if self.id_type is IdType.CREDIT_CODE:
            raise ValueError("id_type: whoever acts for an applicant is a person")
        if (self.acting_as is ActingAs.AGENT) != (self.power_of_attorney is not None):
            raise ValueError("power_of_attorney: an agent gives one, and only an agent")
        return self


class Applicant(_Identified):
    """Who applies (统一身份认证): a person, or an enterprise acting through a person."""

    phone: Phone | None = Field(
        default=None, json_schema_extra={"pattern": _PATTERNS[FieldType.PHONE]}
    )
    representative: Representative | None = Field(
        default=None, description="Who acts for the applicant; an enterprise always has one."
    )

    @model_validator(mode="after")
    def _someone_acts(self) -> Self:
        if self.kind is ApplicantKind.ENTERPRISE:
            if self.representative is None:
                raise ValueError("representative: an enterprise acts through a person")
        elif (
            self.representative is not None
            and self.representative.acting_as is ActingAs.LEGAL_REPRESENTATIVE
        ):
            raise ValueError("representative: only an enterprise has a legal representative")
        return self

    @property
    def kind(self) -> ApplicantKind:
        if self.id_type is IdType.CREDIT_CODE:
            return ApplicantKind.ENTERPRISE
        return ApplicantKind.PERSON

    @property
    def actor(self) -> str:
        """The key of the person who submits: the representative's, or the applicant's."""
        return (self.representative or self).key


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


def with_parties(
    one_thing: OneThing, form: dict[str, Any], applicant: str, represented: Collection[str]
) -> dict[str, Any]:
    """The form with its `party: applicant` fields filled with the applicant's number; raises
    ValueError (its argument a list of pydantic-style errors) when a field names someone the
    catalogue does not let it name: anyone but the applicant (`applicant`), anyone but the
    applicant and those the identity provider says they represent (`represented`)."""
    filled = dict(form)
    errors = []
    for name, spec in one_thing.form.items():
        if spec.party is None or spec.party is Party.VERIFIED:
            continue
        given = filled.get(name)
        if given in (None, ""):
            if spec.party is Party.APPLICANT:
                filled[name] = applicant
            continue
        allowed = {applicant} if spec.party is Party.APPLICANT else {applicant, *represented}
        if not isinstance(given, str) or given.strip().upper() not in allowed:
            whom = (
                "the applicant's own number"
                if spec.party is Party.APPLICANT
                else "the applicant's, or of someone the identity provider says they represent"
            )
            errors.append(
                {"type": "value_error", "loc": (name,), "msg": f"must be {whom}", "input": given}
            )
    if errors:
        raise ValueError(errors)
    return filled
