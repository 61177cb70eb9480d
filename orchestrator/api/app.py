"""The intake API: submit a composite application, follow its progress.

The API process also takes applications in from onething.applications (`IntakeConsumer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, JsonValue
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from infra import database, kafka
from infra.health import Health, consumer_assigned, kafka_reachable, temporal_reachable
from infra.logging import get_logger
from infra.sealing import Sealer
from infra.settings import Settings
from one_things import (
    Catalogue,
    DepartmentContract,
    OneThing,
    UnknownDepartment,
    UnknownOneThing,
    department_contract,
    load_catalogue,
)
from orchestrator.api import problems
from orchestrator.api.actions import actions_router
from orchestrator.api.applicants import ApplicationId, Assertion, applicants_router
from orchestrator.api.auth import Caller, Keys, Role
from orchestrator.api.catalogue import (
    OneThingSummary,
    form_json_schema,
    summary,
)
from orchestrator.api.codec import codec_router
from orchestrator.api.commitments import commitments_router
from orchestrator.api.limits import BodyLimit
from orchestrator.api.materials import materials_router
from orchestrator.api.ratings import ratings_router
from orchestrator.api.sealing import sealing_router
from orchestrator.api.services import Services
from orchestrator.api.tracking import TrackingLink, TrackingLinks
from orchestrator.api.views import DataAccess, data_accesses
from orchestrator.client import connect, payload_codec
from orchestrator.errors import (
    InvalidApplicant,
    InvalidForm,
    RequestConflict,
    UpdateRefused,
)
from orchestrator.intake.consumer import IntakeConsumer
from orchestrator.intake.service import (
    Intake,
    Started,
    SubmitApplication,
)
from orchestrator.ops import updates
from orchestrator.ops.metrics import Gauges
from orchestrator.stores.audit import audit_trail
from orchestrator.stores.commitments import CommitmentBook
from orchestrator.stores.library import licence_library
from orchestrator.stores.material_store import material_store
from orchestrator.stores.materials import material_links
from orchestrator.stores.ratings import RatingBook
from orchestrator.stores.revocations import Revocations
from orchestrator.workflow.models import (
    Progress,
)
from orchestrator.workflow.workflow import OneThingWorkflow

log = get_logger(__name__)
QUERY_TIMEOUT = timedelta(seconds=5)
TEMPORAL_PATIENCE = timedelta(seconds=4)  # then 503: every answer within 10 s
TRACKING_PAGE = (Path(__file__).parent / "static" / "track.html").read_text(encoding="utf-8")


class Submitted(Started):
    status: str = "running"
    progress_url: str


def _exit_if_consumer_ended(consuming: asyncio.Task[None]) -> None:
    """The intake consumer stopped while the API serves: exit non-zero, be restarted."""
    if consuming.cancelled():
        return  # the API is stopping
    log.error("intake_consumer_ended", error=repr(consuming.exception()))
    os._exit(3)


def create_app(settings: Settings) -> FastAPI:
    catalogue: Catalogue = load_catalogue(settings.catalogue_dir)
    materials = material_store(settings)
    if settings.sample_materials:
        materials.keep_samples(catalogue)
    running: dict[str, Services] = {}
    health = Health()
    links = TrackingLinks(settings)
    keys = Keys(
        settings,
        links,
        catalogue.departments(),
        revoked_at=lambda application_id: up().revocations.revoked_at(application_id),
    )
    schemas_readers = Depends(  # the catalogue is public: the tracking page reads it too
        keys.allow(Role.PORTAL, Role.OPERATOR, Role.DEPARTMENT, Role.TRACKER)
    )
    applicants_side = Depends(keys.allow(Role.PORTAL, Role.OPERATOR))
    applicant_or_link = Depends(keys.allow(Role.PORTAL, Role.OPERATOR, Role.TRACKER))
    operators = Depends(keys.allow(Role.OPERATOR))
    departments_side = Depends(keys.allow(Role.DEPARTMENT, Role.OPERATOR))

    def up() -> Services:
        return running["services"]

    async def read_by(application_id: str, who: str, detail: dict[str, JsonValue]) -> None:
        """Someone other than the applicant read their data: it goes into the access log."""
        await asyncio.to_thread(up().audit.append, application_id, "read", who, detail)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        temporal = await connect(settings, give_up_after=TEMPORAL_PATIENCE)
        library = licence_library(settings)
        trail = audit_trail(settings)
        intake = Intake(settings, catalogue, temporal, library, materials, trail)
        kafka.pace_fetches(settings)
        producer = kafka.producer(settings)
        await producer.start()
        running["services"] = Services(
            temporal=temporal,
            intake=intake,
            licences=library,
            ratings=RatingBook(database.engine(database.url_of(settings, "ratings"))),
            commitments=CommitmentBook(database.engine(database.url_of(settings, "commitments"))),
            audit=trail,
            producer=producer,
            revocations=Revocations.of(settings),
        )
        consumer = IntakeConsumer(settings, intake, producer)
        await consumer.start()
        consuming = asyncio.create_task(consumer.run())
        consuming.add_done_callback(_exit_if_consumer_ended)
        gauges = Gauges(settings, temporal, settings.metrics_refresh_seconds)
        metrics_page = asyncio.create_task(
            Health().serve(
                settings.host, settings.api_metrics_port, {"/metrics": gauges.exposition}
            )
        )
        gathering = asyncio.create_task(gauges.run())
        health.add("temporal", temporal_reachable(temporal))
        health.add("kafka", kafka_reachable(producer.reachable))
        health.add("intake_consumer", consumer_assigned(consumer.consumer))
        try:
            yield
        finally:
            for task in (consuming, metrics_page, gathering):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await consumer.stop()
            await producer.stop()

    app = FastAPI(title="OneThing intake API", version="1", lifespan=lifespan)
    problems.install(app)
    problems.document(app)
    app.add_middleware(BodyLimit, uploads={"/v1/materials": settings.material_max_bytes})
    app.include_router(applicants_router(up, applicants_side))
    app.include_router(
        materials_router(
            materials, material_links(settings), read_by, applicants_side, departments_side
        )
    )
    app.include_router(sealing_router(up, Sealer.of(settings), applicants_side))
    app.include_router(codec_router(payload_codec(settings), operators, read_by))
    app.add_middleware(  # the Temporal Web UI calls the codec server from the browser
        CORSMiddleware,
        allow_origins=[f"http://{settings.host}:{settings.temporal_ui_port}", *settings.ui_origins],
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Namespace"],
        allow_credentials=True,
    )

    app.router.routes.extend(health.routes())  # /livez, /readyz: no key, out of the schema

    @app.get("/v1/one-things", dependencies=[schemas_readers])
    async def one_things() -> list[OneThingSummary]:
        return [summary(ot) for ot in catalogue]

    def known(name: str) -> OneThing:
        try:
            return catalogue.get(name)
        except UnknownOneThing as exc:
            raise HTTPException(404, f"unknown one thing {name!r}") from exc

    @app.get("/v1/one-things/{name}", dependencies=[schemas_readers])
    async def one_thing(name: str) -> OneThingSummary:
        return summary(known(name))

    @app.get("/v1/one-things/{name}/form", dependencies=[schemas_readers])
    async def form_schema(name: str) -> dict[str, Any]:
        """The one thing's form as JSON Schema (draft 2020-12), for rendering without code."""
        return form_json_schema(known(name))

    @app.get("/v1/departments/{code}/contract", dependencies=[schemas_readers])
    async def contract(code: str) -> DepartmentContract:
        """What a department receives and must answer, per matter it handles."""
        try:
            return department_contract(catalogue, code)
        except UnknownDepartment as exc:
            raise HTTPException(404, str(exc)) from exc

    @app.post("/v1/applications", status_code=201)
    async def submit(
        body: SubmitApplication,
        request: Request,
        response: Response,
        caller: Caller = applicants_side,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
        assertion: Assertion = None,
    ) -> Submitted:
        """Start an application for the applicant the assertion vouches for; the same
        `Idempotency-Key` and body return the same one."""
        try:
            started = await up().intake.start(
                body, idempotency_key, caller.name, assertion=assertion
            )
        except UnknownOneThing as exc:
            raise HTTPException(404, f"unknown one thing {body.one_thing!r}") from exc
        except InvalidForm as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", exc.where, *e["loc"])} for e in exc.errors]
            ) from exc
        except InvalidApplicant as exc:
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("body", "applicant"), "msg": str(exc)}]
            ) from exc
        except RequestConflict as exc:
            raise HTTPException(
                409, "the Idempotency-Key was used for a different request"
            ) from exc
        if started.replayed:
            response.status_code = 200
        url = str(request.url_for("progress", application_id=started.id))
        response.headers["Location"] = url
        return Submitted(**started.model_dump(), progress_url=url)

    async def current(application_id: str, caller: Caller) -> Progress:
        """The application's progress, if the caller may see it; else 404, as if there were
        no such application."""
        handle = up().temporal.get_workflow_handle_for(OneThingWorkflow.run, application_id)
        hidden = HTTPException(404, f"no application {application_id!r}")
        try:
            described = await handle.describe()
            submitted_by = await described.memo_value("submitted_by", default=None)
            if described.status is WorkflowExecutionStatus.COMPLETED:
                progress: Progress = await handle.result()
            else:
                progress = await handle.query(OneThingWorkflow.progress, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise hidden from exc
            raise
        departments = {task.department for task in progress.tasks}
        if not caller.may_see(application_id, submitted_by, departments):
            raise hidden
        if caller.role is Role.TRACKER and progress.finished:
            raise HTTPException(
                410,
                f"the application has ended ({progress.status.value}): its tracking links no "
                "longer work; the portal shows its outcome",
            )
        if described.status is not WorkflowExecutionStatus.COMPLETED:
            now = datetime.now(UTC)
            for task in progress.tasks:
                if task.deadline is not None:
                    task.time_left_seconds = round((task.deadline - now).total_seconds(), 1)
        return progress

    app.include_router(commitments_router(up, current, departments_side, operators))

    async def update(application_id: str, name: str, arg: BaseModel) -> str:
        try:
            return await updates.send(up().temporal, application_id, name, arg)
        except UpdateRefused as exc:
            raise HTTPException(409, str(exc)) from exc

    sides = {
        "applicants": applicants_side,
        "applicant_or_link": applicant_or_link,
        "operators": operators,
    }
    app.include_router(actions_router(up, current, update, catalogue, materials, sides, read_by))
    app.include_router(ratings_router(settings, up, current, sides, departments_side))

    @app.get("/v1/applications/{application_id}", name="progress")
    async def progress(
        application_id: ApplicationId, caller: Caller = applicant_or_link
    ) -> Progress:
        found = await current(application_id, caller)
        if caller.role is Role.OPERATOR:
            await read_by(application_id, caller.name, {"what": "progress", "why": "operator"})
        return found

    @app.post("/v1/applications/{application_id}/tracking-links", status_code=201)
    async def tracking_link(
        application_id: ApplicationId,
        request: Request,
        response: Response,
        caller: Caller = applicants_side,
    ) -> TrackingLink:
        """A link for the applicant: reads this application, rates its ended tasks and
        answers its supplements, until it expires; never the portal's key."""
        await current(application_id, caller)
        link = links.issue(application_id, caller.name, str(request.base_url).rstrip("/"))
        response.headers["Location"] = link.url
        return link

    @app.get("/track/{application_id}", response_class=HTMLResponse, include_in_schema=False)
    async def tracking_page(application_id: ApplicationId) -> str:
        """The applicant's tracking page: the progress document, drawn as timelines."""
        return TRACKING_PAGE

    @app.get("/v1/applications/{application_id}/access-log")
    async def access_log(
        application_id: ApplicationId, caller: Caller = applicants_side
    ) -> list[DataAccess]:
        """Who saw the applicant's data: which department received which fields, when, for
        which matter; who read their e-licences, materials or application, and why."""
        progress = await current(application_id, caller)
        if caller.role is Role.OPERATOR:
            await read_by(application_id, caller.name, {"what": "access log", "why": "operator"})
        trail = await asyncio.to_thread(up().audit.entries, application_id)
        return data_accesses(progress, trail)

    return app
