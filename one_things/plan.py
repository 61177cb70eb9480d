"""The plan snapshot: computed once at submission, carried in the workflow input."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class PlannedTask(BaseModel):
    """One matter to be handled for one application, with its minimised payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str
    matter: str
    title: str
    department: str
    depends_on: list[str] = Field(default_factory=list)
    payload: dict[str, JsonValue] = Field(description="The granted form fields, nothing else.")
    upstream: dict[str, str] = Field(
        default_factory=dict, description="payload key -> 'task_id.output' filled at dispatch."
    )
    time_limit_seconds: float
    outputs: list[str] = Field(
        default_factory=list, description="What an approval must carry, no more, no fewer."
    )
    compensation: str | None = None
    irreversible: bool = False
    licences: dict[str, str] = Field(
        default_factory=dict, description="output -> e-licence type issued on approval."
    )
    licence_holder: str | None = Field(default=None, description="Whom the e-licences belong to.")


class SkippedMatter(BaseModel):
    """A matter of the one thing that this application does not need, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    matter: str
    reason: str
    licence_id: str | None = Field(default=None, description="The e-licence held instead.")


class PlannedStart(BaseModel):
    """A one thing to start once this one is approved, its form filled but for outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    one_thing: str
    applicant: dict[str, JsonValue]
    values: dict[str, JsonValue] = Field(description="Form fields known at submission.")
    outputs: dict[str, str] = Field(
        default_factory=dict, description="Form field -> 'task_id.output' filled on approval."
    )


class ExecutionPlan(BaseModel):
    """The task DAG of one application and the catalogue version it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    one_thing: str
    catalogue_version: str
    tasks: list[PlannedTask]
    skipped: list[SkippedMatter] = Field(default_factory=list)
    starts: list[PlannedStart] = Field(default_factory=list)
