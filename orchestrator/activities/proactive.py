"""The activity that starts a one thing an approval starts by itself (免申即享)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from one_things import UnknownOneThing
from orchestrator.errors import InvalidApplicant, InvalidForm, RequestConflict
from orchestrator.intake.service import Intake, SubmitApplication
from orchestrator.workflow.models import StartProactive
from orchestrator.workflow.names import START_PROACTIVE


class ProactiveActivities:
    """Starts the one things an approval starts by itself (免申即享)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    @activity.defn(name=START_PROACTIVE)
    async def start_proactive(self, inp: StartProactive) -> str:
        """Start it once: the request id names the parent and the one thing, so a retry finds it
        started, and two one things started by one parent do not collide."""
        body = SubmitApplication.model_validate(
            {"one_thing": inp.one_thing, "applicant": inp.applicant, "form": inp.form}
        )
        try:
            started = await self._intake.start(
                body,
                f"proactive/{inp.parent_id}/{inp.one_thing}",
                inp.submitted_by or "proactive",
                started_by=inp.parent_id,
            )
        except (UnknownOneThing, InvalidForm, InvalidApplicant, RequestConflict) as exc:
            raise ApplicationError(f"{inp.one_thing}: {exc}", non_retryable=True) from exc
        return started.id
