"""Turn (one thing, applicant, form) into the plan snapshot of one application."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, JsonValue

from one_things.forms import Applicant
from one_things.graph import topological_order
from one_things.licences import ELicence
from one_things.plan import ExecutionPlan, PlannedStart, PlannedTask, SkippedMatter
from one_things.schema import Matter, OneThing, TimeLimit
from one_things.workdays import WorkingCalendar


def plan(
    one_thing: OneThing,
    applicant: Applicant,
    form: BaseModel,
    time_limit_cap_seconds: float | None = None,
    held: Sequence[ELicence] = (),
    calendar: WorkingCalendar | None = None,
) -> ExecutionPlan:
    """The task DAG with each task's minimised payload, and the catalogue version.

    `form` must be an instance of `forms.form_model(one_thing)`; a cap, if given, shortens
    every time limit to at most that many seconds. Working days are counted on `calendar`
    (the window from the day of submission; Monday to Friday if none). A `once_per_holder`
    matter whose e-licences its holder already holds (in `held`) is skipped, and its
    dependants get the licence's data. (Its materials are `materials.plan_materials`'.)
    """
    values: dict[str, Any] = form.model_dump(mode="json", exclude_none=True)
    values.update({f"applicant.{k}": v for k, v in applicant.model_dump(exclude_none=True).items()})
    skipped: dict[str, SkippedMatter] = {}
    from_licence: dict[str, ELicence] = {}
    tasks: dict[str, PlannedTask] = {}
    for matter_id in topological_order({m.id: m.waits_for() for m in one_thing.matters}):
        matter = one_thing.matter(matter_id)
        holder = _holder(matter, values, applicant) if matter.licences else None
        holder_output = _output_ref(one_thing, matter.licence_holder) if matter.licences else None
        if matter.when is not None and not values.get(matter.when):
            skipped[matter.id] = SkippedMatter(
                matter=matter.id, reason=f"not requested ({matter.when} is not set)"
            )
            continue
        if matter.once_per_holder and (licence := _held(held, matter, holder)) is not None:
            from_licence[matter.id] = licence
            skipped[matter.id] = SkippedMatter(
                matter=matter.id,
                reason=f"already held as e-licence {licence.id} (issued {licence.issued_on})",
                licence_id=licence.id,
            )
            continue
        missing = [d for d in matter.depends_on if d in skipped and d not in from_licence]
        if missing:
            skipped[matter.id] = SkippedMatter(
                matter=matter.id, reason=f"depends on skipped {', '.join(missing)}"
            )
            continue
        payload: dict[str, JsonValue] = {k: values[k] for k in matter.inputs if k in values}
        upstream: dict[str, str] = {}
        for ref in matter.upstream:
            source, _, output = ref.partition(".")
            if source in from_licence:
                payload[output] = from_licence[source].data[output]
            else:
                upstream[output] = ref
        tasks[matter.id] = PlannedTask(
            task_id=matter.id,
            matter=matter.id,
            title=matter.title,
            department=matter.department,
            depends_on=[
                *(d for d in matter.depends_on if d not in from_licence),
                *(a for a in matter.after if a in tasks),
            ],
            payload=payload,
            upstream=upstream,
            time_limit_seconds=_capped(matter.time_limit, time_limit_cap_seconds),
            working_days=matter.time_limit.working_days,
            outputs=list(matter.outputs),
            compensation=matter.compensation,
            irreversible=matter.irreversible,
            licences=dict(matter.licences),
            licence_holder=None if holder_output else holder,
            licence_holder_output=holder_output,
            on_failure=matter.refusal,
        )
    return ExecutionPlan(
        one_thing=one_thing.id,
        catalogue_version=one_thing.version,
        lead_department=one_thing.lead_department,
        time_limit=one_thing.time_limit,
        calendar=calendar or WorkingCalendar(),
        tasks=[tasks[m.id] for m in one_thing.matters if m.id in tasks],
        skipped=[skipped[m.id] for m in one_thing.matters if m.id in skipped],
        starts=[
            PlannedStart(
                one_thing=start.one_thing,
                applicant=applicant.model_dump(exclude_none=True),
                values={
                    field: values[source.replace("form.", "", 1)]
                    for field, source in start.form.items()
                    if source.replace("form.", "", 1) in values
                },
                outputs={
                    field: source
                    for field, source in start.form.items()
                    if source.partition(".")[0] in tasks
                },
            )
            for start in one_thing.starts
        ],
    )


def _output_ref(one_thing: OneThing, ref: str) -> str | None:
    """`ref` if it names a matter's output (whom a licence goes to, known on approval)."""
    source, _, _ = ref.partition(".")
    return ref if any(m.id == source for m in one_thing.matters) else None


def _capped(limit: TimeLimit, cap: float | None) -> float | None:
    """A duration's seconds, at most `cap`; for working days, the cap alone."""
    if limit.duration is None:
        return cap
    return min(limit.duration.total_seconds(), cap or float("inf"))


def _holder(matter: Matter, values: dict[str, Any], applicant: Applicant) -> Any:
    """Whom a matter's e-licences belong to: the applicant by their identity key, else the
    form field that names the holder (a resident ID or a credit code, its own key)."""
    if matter.licence_holder == "applicant.id_number":
        return applicant.key
    return values.get(matter.licence_holder)


def _held(held: Sequence[ELicence], matter: Matter, holder: str | None) -> ELicence | None:
    """The newest licence `holder` holds of every type `matter` issues (None if one is missing)."""
    newest: ELicence | None = None
    for kind in set(matter.licences.values()):
        of_kind = [
            lic
            for lic in held
            if lic.type == kind
            and lic.holder == holder
            and all(output in lic.data for output in matter.outputs)
        ]
        if not of_kind:
            return None
        newest = max(of_kind, key=lambda lic: lic.issued_on)
    return newest
