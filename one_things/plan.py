"""The plan snapshot: computed once at submission, carried in the workflow input."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from one_things.materials import PlannedMaterial
from one_things.schema import OnFailure, TimeLimit
from one_things.workdays import WorkingCalendar


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
    time_limit_seconds: float | None = Field(
        description="A duration's limit; with working days, a cap on them (None: no cap)."
    )
    working_days: int | None = Field(
        default=None, description="承诺时限 in working days, from each dispatch."
    )
    outputs: list[str] = Field(
        default_factory=list, description="What an approval must carry, no more, no fewer."
    )
    compensation: str | None = None
    irreversible: bool = False
    licences: dict[str, str] = Field(
        default_factory=dict, description="output -> e-licence type issued on approval."
    )
    licence_holder: str | None = Field(default=None, description="Whom the e-licences belong to.")
    licence_holder_output: str | None = Field(
        default=None, description="'task_id.output' naming the holder, known on approval."
    )
    on_failure: OnFailure = Field(
        default=OnFailure.ABORT, description="What its refusal does to the application."
    )

    @model_validator(mode="after")
    def _limited(self) -> Self:
        if self.time_limit_seconds is None and self.working_days is None:
            raise ValueError("a task is limited in seconds, in working days, or both")
        return self


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
    lead_department: str | None = None
    time_limit: TimeLimit | None = Field(
        default=None, description="The one thing's own 承诺时限, from submission."
    )
    calendar: WorkingCalendar | None = Field(
        default=None, description="The working days from submission, to count limits on."
    )
    tasks: list[PlannedTask]
    skipped: list[SkippedMatter] = Field(default_factory=list)
    starts: list[PlannedStart] = Field(default_factory=list)
    materials: list[PlannedMaterial] = Field(default_factory=list)

    def materials_of(self, task: PlannedTask) -> list[PlannedMaterial]:
        return [m for m in self.materials if task.matter in m.matters]

    @model_validator(mode="after")
    def _counted_on_its_calendar(self) -> Self:
        by_working_days = any(t.working_days for t in self.tasks) or (
            self.time_limit is not None and self.time_limit.working_days is not None
        )
        if by_working_days and self.calendar is None:
            raise ValueError("a plan with limits in working days carries its calendar")
        return self
