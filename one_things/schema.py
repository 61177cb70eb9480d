"""The catalogue's schema: one `OneThing` per YAML file."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    model_serializer,
    model_validator,
)

NAME = r"^[a-z][a-z0-9_]{0,63}$"
APPLICANT_FIELDS = ("name", "id_type", "id_number", "phone")


class ApplicantKind(StrEnum):
    """Who a one thing accepts applications from."""

    PERSON = "person"
    ENTERPRISE = "enterprise"


class FieldType(StrEnum):
    """What a form field holds; each type has its own check."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    RESIDENT_ID = "resident_id"
    CREDIT_CODE = "credit_code"
    PHONE = "phone"


class Party(StrEnum):
    """How a person or an enterprise a form field names relates to the applicant."""

    APPLICANT = "applicant"  # the applicant's own number: filled when left out
    REPRESENTED = "represented"  # the applicant, or someone the identity provider says they act for
    VERIFIED = "verified"  # anyone: the department verifies the relation (kinship, office…)


PARTY_TYPES = ("resident_id", "credit_code")  # the field types that name a person or enterprise


class OnFailure(StrEnum):
    """What a matter's refusal does to its application."""

    ABORT = "abort"  # the application is rejected; what was done is undone
    CONTINUE = "continue"  # its dependants are cancelled; the rest goes on


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


WORKING_DAYS = re.compile(r"^P(\d+)WD$")
DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)


class TimeLimit(Strict):
    """承诺时限: working days (工作日), written `P5WD`, or a duration (ISO 8601, `PT2H`)."""

    working_days: int | None = Field(default=None, ge=1)
    duration: timedelta | None = None

    @model_validator(mode="before")
    @classmethod
    def _written(cls, value: Any) -> Any:
        if not isinstance(value, str | timedelta):
            return value
        if isinstance(value, str) and (found := WORKING_DAYS.match(value)):
            return {"working_days": int(found.group(1))}
        return {"duration": DURATION.validate_python(value)}

    @model_validator(mode="after")
    def _one_of_them(self) -> Self:
        if (self.working_days is None) == (self.duration is None):
            raise ValueError("a time limit is working days (P5WD) or a duration (PT2H)")
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValueError("time_limit must be positive")
        return self

    @model_serializer
    def _write(self) -> str:
        if self.working_days is not None:
            return f"P{self.working_days}WD"
        assert self.duration is not None
        return str(DURATION.dump_python(self.duration, mode="json"))

    def __str__(self) -> str:
        return self._write()

    def days(self) -> float:
        """Its length in days, a working day counting as one: to compare limits."""
        if self.working_days is not None:
            return float(self.working_days)
        assert self.duration is not None
        return self.duration / timedelta(days=1)


class FormField(Strict):
    """One field of a one thing's single form."""

    type: FieldType
    title: str
    required: bool = True
    pii: bool = False
    max_length: int | None = Field(default=None, ge=1)
    minimum: int | None = None
    maximum: int | None = None
    choices: list[str] | None = Field(
        default=None, min_length=2, description="The values a string field may take."
    )
    party: Party | None = Field(
        default=None,
        description="For an ID number or credit code, whom it may name: the applicant "
        "(filled when left out), someone the identity provider says the applicant represents, "
        "or anyone whose relation the department verifies. Required on such fields.",
    )
    prefill: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$",
        description="licence_type.key: filled from the applicant's e-licence when left out.",
    )

    @model_validator(mode="after")
    def _choices_of_text(self) -> Self:
        if self.choices and self.type is not FieldType.STRING:
            raise ValueError("only a string field has choices")
        names_someone = self.type.value in PARTY_TYPES
        if self.party is not None and not names_someone:
            raise ValueError("party is for an ID number or credit code field")
        if names_someone and self.party is None:
            raise ValueError(
                "party: a field naming a person or an enterprise says how it relates to the "
                "applicant (applicant, represented or verified)"
            )
        return self


class Matter(Strict):
    """One department's service item inside a one thing (事项)."""

    id: str = Field(pattern=NAME)
    title: str
    department: str
    time_limit: TimeLimit = Field(description="承诺时限: working days (P5WD) or a duration (PT2H).")
    inputs: list[str] = Field(
        default_factory=list,
        description="Form fields (or applicant.name|id_number|phone) this matter may see.",
    )
    depends_on: list[str] = Field(default_factory=list)
    after: list[str] = Field(
        default_factory=list,
        description="Matters it waits for when they run; one the application does not need "
        "(not requested, already held) holds nothing up.",
    )
    upstream: list[str] = Field(
        default_factory=list, description="matter.output values handed to this matter."
    )
    outputs: list[str] = Field(default_factory=list)
    compensation: str | None = Field(default=None, description="The action that undoes it.")
    irreversible: bool = False
    when: str | None = Field(
        default=None, description="An optional form field that enables it when given (true)."
    )
    licences: dict[str, str] = Field(
        default_factory=dict,
        description="output -> e-licence type, for outputs that are documents.",
    )
    licence_holder: str = Field(
        default="applicant.id_number",
        description="Whom its e-licences belong to: a form field naming them, or an output "
        "of the matter itself or of one it depends on (an enterprise's new credit code).",
    )
    once_per_holder: bool = Field(
        default=False, description="Skipped when the holder already holds its e-licences."
    )
    required: bool = Field(default=True, description="False: the one thing can succeed without it.")
    on_failure: OnFailure | None = Field(
        default=None,
        description="What its refusal does: abort (the default for a required matter) or "
        "continue (only its dependants are cancelled; always, for one not required).",
    )

    @model_validator(mode="after")
    def _undo_declared(self) -> Self:
        if bool(self.compensation) == self.irreversible:
            raise ValueError("declare either a compensation or irreversible: true, not both")
        if self.once_per_holder and not self.licences:
            raise ValueError("once_per_holder needs the e-licences the matter issues")
        if not self.required and self.on_failure is OnFailure.ABORT:
            raise ValueError("a matter not required cannot abort its application")
        return self

    def waits_for(self) -> list[str]:
        """Every matter it may wait for: its dependencies and those it runs after."""
        return [*self.depends_on, *self.after]

    @property
    def refusal(self) -> OnFailure:
        """What its refusal does, as declared or as `required` implies."""
        if self.on_failure is not None:
            return self.on_failure
        return OnFailure.ABORT if self.required else OnFailure.CONTINUE


class Material(Strict):
    """One document of the one thing's single set of materials (一套材料)."""

    id: str = Field(pattern=NAME)
    title: str
    matters: list[str] = Field(min_length=1, description="The matters it is sent to.")
    when: str | None = Field(
        default=None,
        description="The situation it is needed in: `field` (given and true) or `field=value`.",
    )
    proven_by: str | None = Field(
        default=None,
        description="An e-licence type: waived (免提交) when the applicant holds one.",
    )
    deferrable: TimeLimit | None = Field(
        default=None,
        description="容缺受理: it may be promised and supplied within this limit instead.",
    )
    commitment: bool = Field(
        default=False,
        description="告知承诺: the applicant's commitment may replace it; the department "
        "verifies it afterwards.",
    )

    def needed(self, values: dict[str, Any]) -> bool:
        """Whether the application's form puts the applicant in its situation."""
        if self.when is None:
            return True
        field, equals, value = self.when.partition("=")
        given = values.get(field)
        return given == value if equals else bool(given)


class Proactive(Strict):
    """Another one thing this one starts by itself once approved (免申即享)."""

    one_thing: str = Field(pattern=NAME)
    form: dict[str, str] = Field(
        description="Its form field -> form.<field>, applicant.<field> or <matter>.<output>."
    )


class Example(Strict):
    """A valid application of the one thing (the demo and the API documentation use it)."""

    applicant: dict[str, JsonValue]
    form: dict[str, JsonValue]
    materials: dict[str, str] = Field(default_factory=dict)


class OneThing(Strict):
    """A life-event package: one form, many matters, a version."""

    id: str = Field(pattern=NAME)
    version: str = Field(min_length=1)
    title: str
    lead_department: str | None = Field(
        default=None, description="牵头部门: answers for the one thing as a whole."
    )
    time_limit: TimeLimit | None = Field(
        default=None, description="The one thing's own 承诺时限, from submission."
    )
    description: str = ""
    applicants: list[ApplicantKind] = Field(
        default=[ApplicantKind.PERSON], min_length=1, description="Who may apply."
    )
    form: dict[str, FormField]
    matters: list[Matter] = Field(min_length=1)
    materials: list[Material] = Field(default_factory=list, description="一套材料.")
    starts: list[Proactive] = Field(default_factory=list)
    example: Example

    def matter(self, matter_id: str) -> Matter:
        return next(m for m in self.matters if m.id == matter_id)
