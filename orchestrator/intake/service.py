"""Starting an application: prefill, validate, plan, start its workflow — exactly once per request.

The HTTP API (`POST /v1/applications`, with or without an `Idempotency-Key`) and the
asynchronous intake on `onething.applications` both come here. A request id (the key, or the
message's request id) becomes the workflow id, so Temporal itself refuses a second start; the
request's hash, kept in the workflow's memo, tells a replay from a different request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from infra.logging import get_logger
from infra.settings import Settings
from one_things import Applicant, Catalogue, SkippedMatter, form_model, plan, workdays
from one_things.forms import with_parties
from one_things.licences import ELicence, holders, prefill
from one_things.materials import GIVEN, MissingMaterials, PlannedMaterial, plan_materials
from one_things.plan import ExecutionPlan
from one_things.schema import OneThing
from orchestrator.errors import InvalidApplicant, InvalidForm, RequestConflict
from orchestrator.intake.identity import IdentityVerifier
from orchestrator.stores.audit import AuditTrail
from orchestrator.stores.library import LicenceLibrary
from orchestrator.stores.materials import MaterialStore
from orchestrator.workflow.models import ApplicationInput
from orchestrator.workflow.names import APPLICANT_REF, REVISION
from orchestrator.workflow.platform import start_index
from orchestrator.workflow.workflow import OneThingWorkflow

log = get_logger(__name__)


class SubmitApplication(BaseModel):
    """One one-thing, one applicant, one form (POST /v1/applications, onething.applications)."""

    model_config = ConfigDict(extra="forbid")

    one_thing: str = Field(min_length=1, examples=["birth"])
    applicant: Applicant
    form: dict[str, Any]
    materials: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(pattern=GIVEN)]] = (
        Field(
            default_factory=dict,
            max_length=64,
            description="Material -> the sha256 of its upload (POST /v1/materials), `promise` "
            "(容缺: supplied later, by its due date) or `commitment` (告知承诺). A material an "
            "e-licence of the applicant proves is waived when left out.",
        )
    )


class Started(BaseModel):
    """The application a request started (or had already started)."""

    id: str
    one_thing: str
    catalogue_version: str
    prefilled: list[str] = Field(
        default_factory=list, description="Form fields taken from the applicant's e-licences."
    )
    skipped: list[SkippedMatter] = Field(
        default_factory=list, description="Matters this application does not need, and why."
    )
    materials: list[PlannedMaterial] = Field(
        default_factory=list, description="Its materials: uploaded, waived, promised, committed."
    )
    replayed: bool = Field(default=False, description="True if the request was seen before.")


def application_id_for(request_id: str | None) -> str:
    if request_id is None:
        return f"ot-{uuid.uuid4().hex}"
    return f"ot-{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"


def request_hash(body: SubmitApplication) -> str:
    document = orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(document).hexdigest()


class Intake:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        client: Client,
        library: LicenceLibrary,
        materials: MaterialStore,
        audit: AuditTrail,
    ) -> None:
        self.materials = materials
        self._audit = audit
        self._settings = settings
        self._catalogue = catalogue
        self._client = client
        self._library = library
        self._calendar = workdays.official(settings.working_calendar)
        self._today: tuple[date, workdays.WorkingCalendar] | None = None
        self.identity = IdentityVerifier(settings)  # who the applicant is, for every route

    def _calendar_from(self, day: date) -> workdays.WorkingCalendar:
        """The calendar a plan submitted on `day` carries (made once a day)."""
        if self._today is None or self._today[0] != day:
            self._today = (day, self._calendar.window(day))
        return self._today[1]

    def applicant_ref(self, identity: str) -> str:
        """A pseudonym of the applicant (by their identity key) to find their applications by:
        never the ID number."""
        key = self._settings.applicant_ref_key.get_secret_value().encode()
        return hmac.new(key, identity.strip().upper().encode(), hashlib.sha256).hexdigest()[:32]

    async def start(
        self,
        body: SubmitApplication,
        request_id: str | None,
        submitted_by: str,
        *,
        assertion: str | None = None,
        started_by: str | None = None,
    ) -> Started:
        """Start the application; a request id `submitted_by` used before returns what it started.

        `assertion` is the identity provider's word that the applicant is who the body names:
        only then are their e-licences read; an application an approval starts (`started_by`,
        the parent's id) has the parent's applicant, authenticated then. Raises
        NotAuthenticated, UnknownOneThing, InvalidForm, or RequestConflict (same id, other
        request).
        """
        application_id = application_id_for(
            None if request_id is None else f"{submitted_by}/{request_id}"
        )
        represented: list[str] = []
        if started_by is None:  # a request retried (same id) is no second use of its assertion
            use = None if request_id is None else application_id
            vouched = await asyncio.to_thread(
                self.identity.check_applicant, assertion, body.applicant, submitted_by, use
            )
            represented = vouched.holders()
        one_thing = self._catalogue.get(body.one_thing)
        if body.applicant.kind not in one_thing.applicants:
            accepted = " or ".join(kind.value for kind in one_thing.applicants)
            raise InvalidApplicant(
                f"{one_thing.id} takes applications from {accepted} applicants only, "
                f"not from a {body.applicant.kind.value}"
            )
        # only the authenticated applicant's own e-licences are read: for prefill, and to skip
        # what they already hold; a form naming someone else reads nothing of theirs
        applicant = body.applicant.key
        wanted = holders(one_thing, applicant, body.form)
        current = await asyncio.to_thread(self._library.current_of, wanted)
        held = [lic for lic in current if lic.holder == applicant]
        try:
            own = with_parties(one_thing, body.form, body.applicant.id_number, represented)
        except ValueError as exc:
            raise InvalidForm(exc.args[0]) from exc
        filled, prefilled = prefill(one_thing, own, held)
        try:
            form = form_model(one_thing).model_validate(filled)
        except ValidationError as exc:
            raise InvalidForm(exc.errors()) from exc
        submitted_at = datetime.now(UTC)
        calendar = self._calendar_from(submitted_at.astimezone(workdays.CHINA).date())
        cap = self._settings.time_limit_cap_seconds
        snapshot = plan(one_thing, body.applicant, form, cap, held, calendar)
        not_uploaded = await asyncio.to_thread(self._not_uploaded, body)
        materials = self._materials(
            body, one_thing, filled, held, snapshot, submitted_at, calendar, not_uploaded
        )
        snapshot = snapshot.model_copy(update={"materials": materials})
        digest = request_hash(body)
        started = Started(
            id=application_id,
            one_thing=one_thing.id,
            catalogue_version=one_thing.version,
            prefilled=prefilled,
            skipped=snapshot.skipped,
            materials=snapshot.materials,
        )
        try:
            await self._client.start_workflow(
                OneThingWorkflow.run,
                ApplicationInput(
                    application_id=application_id,
                    plan=snapshot,
                    submitted_at=submitted_at,
                    dispatch_attempts=self._settings.dispatch_attempts,
                    undo_attempts=self._settings.undo_attempts,
                    redelivery_seconds=self._settings.redelivery_seconds,
                    supplement_time_limit_seconds=self._settings.supplement_time_limit_seconds,
                    submitted_by=submitted_by,
                    revision=REVISION,
                ),
                id=application_id,
                task_queue=self._settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={
                    "request_hash": digest,
                    "started": started.model_dump(mode="json"),
                    "submitted_by": submitted_by,
                },
                search_attributes=TypedSearchAttributes(
                    [
                        *start_index(snapshot),
                        SearchAttributePair(APPLICANT_REF, self.applicant_ref(body.applicant.key)),
                    ]
                ),
            )
        except WorkflowAlreadyStartedError:
            return await self._seen_before(started, digest)
        log.info("application_submitted", application_id=application_id, one_thing=one_thing.id)
        prefilled_from = {str(one_thing.form[f].prefill).partition(".")[0] for f in prefilled}
        await self._record_licence_reads(started, held, prefilled_from, submitted_by)
        return started

    async def _record_licence_reads(
        self, started: Started, held: list[ELicence], prefilled_from: set[str], by: str
    ) -> None:
        """The applicant's e-licences it used (prefill, a matter skipped, a material waived),
        in its access log: who read them, and what for."""
        used = {
            *(s.licence_id for s in started.skipped if s.licence_id),
            *(m.licence_id for m in started.materials if m.licence_id),
        }
        kinds = sorted({lic.type for lic in held if lic.id in used} | prefilled_from)
        if not kinds:
            return
        why = ", ".join(
            part
            for part in (
                started.prefilled and "prefill " + " ".join(started.prefilled),
                any(s.licence_id for s in started.skipped) and "a matter already held",
                any(m.licence_id for m in started.materials) and "a material waived",
            )
            if part
        )
        detail: dict[str, JsonValue] = {"what": "e-licences " + ", ".join(kinds), "why": why}
        await asyncio.to_thread(self._audit.append, started.id, "read", by, detail)

    def _materials(
        self,
        body: SubmitApplication,
        one_thing: OneThing,
        values: dict[str, Any],
        held: list[ELicence],
        snapshot: ExecutionPlan,
        submitted_at: datetime,
        calendar: workdays.WorkingCalendar,
        errors: list[dict[str, Any]],
    ) -> list[PlannedMaterial]:
        """The application's materials, settled, or InvalidForm with `errors` and theirs."""
        try:
            planned = plan_materials(
                one_thing,
                values,
                body.materials,
                held,
                submitted_at,
                calendar,
                {t.task_id for t in snapshot.tasks},
                self._settings.time_limit_cap_seconds,
            )
        except MissingMaterials as exc:
            errors.extend(exc.errors)
            planned = []
        if errors:
            raise InvalidForm(errors, where="materials")
        return planned

    def _not_uploaded(self, body: SubmitApplication) -> list[dict[str, Any]]:
        """An error for each upload the request names that is not in the store."""
        named = {name: given for name, given in body.materials.items() if len(given) == 64}
        acting = body.applicant.representative
        if acting is not None and acting.power_of_attorney is not None:
            named["power_of_attorney"] = acting.power_of_attorney
        return [
            {"type": "value_error", "loc": (name,), "msg": "no such upload", "input": given}
            for name, given in named.items()
            if not self.materials.has(given)
        ]

    async def _seen_before(self, started: Started, digest: str) -> Started:
        """What the first request with this id started (its plan may differ from today's)."""
        described = await self._client.get_workflow_handle(started.id).describe()
        if await described.memo_value("request_hash", default=None) != digest:
            raise RequestConflict("this request id was used for a different request")
        first = Started.model_validate(await described.memo_value("started"))
        log.info("application_request_replayed", application_id=started.id)
        return first.model_copy(update={"replayed": True})
