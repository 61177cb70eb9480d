"""Turn (one thing, applicant, form) into the plan snapshot of one application."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, JsonValue

from one_things.forms import Applicant
from one_things.graph import topological_order
from one_things.plan import ExecutionPlan, PlannedTask, SkippedMatter
from one_things.schema import OneThing


def plan(
    one_thing: OneThing,
    applicant: Applicant,
    form: BaseModel,
    time_limit_cap_seconds: float | None = None,
) -> ExecutionPlan:
    """The task DAG with each task's minimised payload, and the catalogue version.

    `form` must be an instance of `forms.form_model(one_thing)`; a cap, if given, shortens
    every time limit to at most that many seconds.
    """
    values: dict[str, Any] = form.model_dump(mode="json", exclude_none=True)
    values.update({f"applicant.{k}": v for k, v in applicant.model_dump(exclude_none=True).items()})
    skipped: dict[str, str] = {}
    tasks: dict[str, PlannedTask] = {}
    for matter_id in topological_order({m.id: m.depends_on for m in one_thing.matters}):
        matter = one_thing.matter(matter_id)
        if matter.when is not None and not values.get(matter.when):
            skipped[matter.id] = f"not requested ({matter.when} is not set)"
            continue
        missing = [d for d in matter.depends_on if d in skipped]
        if missing:
            skipped[matter.id] = f"depends on skipped {', '.join(missing)}"
            continue
        payload: dict[str, JsonValue] = {k: values[k] for k in matter.inputs if k in values}
        tasks[matter.id] = PlannedTask(
            task_id=matter.id,
            matter=matter.id,
            title=matter.title,
            department=matter.department,
            depends_on=list(matter.depends_on),
            payload=payload,
            upstream={ref.partition(".")[2]: ref for ref in matter.upstream},
            time_limit_seconds=min(
                matter.time_limit.total_seconds(), time_limit_cap_seconds or float("inf")
            ),
            compensation=matter.compensation,
            irreversible=matter.irreversible,
        )
    return ExecutionPlan(
        one_thing=one_thing.id,
        catalogue_version=one_thing.version,
        tasks=[tasks[m.id] for m in one_thing.matters if m.id in tasks],
        skipped=[SkippedMatter(matter=m, reason=r) for m, r in skipped.items()],
    )
