"""Which materials an application brings, and how each is settled: uploaded, waived because
an e-licence proves it (免提交), promised by a date (容缺受理), or replaced by the applicant's
commitment (告知承诺)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from one_things.licences import ELicence
from one_things.schema import Material, OneThing
from one_things.workdays import WorkingCalendar

PROMISE = "promise"
COMMITMENT = "commitment"
GIVEN = rf"^([0-9a-f]{{64}}|{PROMISE}|{COMMITMENT})$"
SAMPLE = "sample"  # in a catalogue example: a sample document the demo uploads


class Settled(StrEnum):
    PROVIDED = "provided"
    WAIVED = "waived"
    PROMISED = "promised"
    COMMITTED = "committed"
    LAPSED = "lapsed"  # promised, and not supplied by its due time
    BROKEN = "broken"  # committed, and found untrue by the department


class PlannedMaterial(BaseModel):
    """One material of an application, as the plan settled it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    matters: list[str]
    settled: Settled
    sha256: str | None = Field(default=None, description="The uploaded content's hash.")
    licence_id: str | None = Field(default=None, description="The e-licence that proves it.")
    due: datetime | None = Field(default=None, description="A promised material's due time.")


class MissingMaterials(ValueError):
    """Materials the application needs and does not settle; `errors` say which and why."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} materials not settled")
        self.errors = errors


def plan_materials(
    one_thing: OneThing,
    values: Mapping[str, Any],
    given: Mapping[str, str],
    held: Sequence[ELicence],
    submitted_at: datetime,
    calendar: WorkingCalendar,
    tasks: Collection[str],
    cap_seconds: float | None = None,
) -> list[PlannedMaterial]:
    """Each material the form's situation and the planned `tasks` need, settled; raises
    MissingMaterials.

    `given` maps a material to the sha256 of its upload, or to `promise` or `commitment`;
    `held` are the applicant's e-licences. A cap shortens a promise to at most that long.
    """
    errors: list[dict[str, Any]] = []
    planned = []
    situation = dict(values)
    needed = {
        m.id: m
        for m in one_thing.materials
        if m.needed(situation) and any(matter in tasks for matter in m.matters)
    }
    known = {m.id for m in one_thing.materials}
    for name in given:  # one it knows and does not need (its matter skipped) is left out
        if name not in known:
            errors.append(_error(name, f"{one_thing.id} has no such material", given[name]))
    for material in needed.values():
        try:
            planned.append(
                _settle(
                    material,
                    given.get(name := material.id),
                    held,
                    submitted_at,
                    calendar,
                    cap_seconds,
                )
            )
        except ValueError as exc:
            errors.append(_error(name, str(exc), given.get(name)))
    if errors:
        raise MissingMaterials(errors)
    return planned


def _settle(
    material: Material,
    given: str | None,
    held: Sequence[ELicence],
    submitted_at: datetime,
    calendar: WorkingCalendar,
    cap_seconds: float | None,
) -> PlannedMaterial:
    common = {"id": material.id, "title": material.title, "matters": material.matters}
    proof = next((lic for lic in held if lic.type == material.proven_by), None)
    if given is None and proof is not None:
        return PlannedMaterial(**common, settled=Settled.WAIVED, licence_id=proof.id)
    if given is None:
        raise ValueError(f"{material.title} is needed")
    if given == PROMISE:
        if material.deferrable is None:
            raise ValueError(f"{material.title} cannot be promised (no 容缺 for it)")
        due = _due(material, submitted_at, calendar, cap_seconds)
        return PlannedMaterial(**common, settled=Settled.PROMISED, due=due)
    if given == COMMITMENT:
        if not material.commitment:
            raise ValueError(f"{material.title} cannot be replaced by a commitment")
        return PlannedMaterial(**common, settled=Settled.COMMITTED)
    return PlannedMaterial(**common, settled=Settled.PROVIDED, sha256=given)


def _due(
    material: Material, start: datetime, calendar: WorkingCalendar, cap: float | None
) -> datetime:
    limit = material.deferrable
    assert limit is not None
    if limit.working_days is not None:
        return calendar.deadline_within(start, limit.working_days, cap)
    assert limit.duration is not None
    due = start + limit.duration
    return due if cap is None else min(due, start + timedelta(seconds=cap))


def sample_material(one_thing: str, material: str) -> bytes:
    """The document a catalogue example gives for a material marked `sample`: a PDF."""
    return f"%PDF-1.4\n% OneThing sample of {one_thing}/{material}\n%%EOF\n".encode()


def _error(name: str, message: str, given: str | None) -> dict[str, Any]:
    return {"type": "value_error", "loc": (name,), "msg": message, "input": given}
