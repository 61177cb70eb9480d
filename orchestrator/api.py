"""The intake API: submit a composite application, follow its progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from infra.logging import get_logger
from infra.settings import Settings
from infra.supervisor import Supervisor
from one_things import Applicant, Catalogue, UnknownOneThing, form_model, load_catalogue, plan
from orchestrator.models import ApplicationInput, Progress
from orchestrator.temporal import connect
from orchestrator.workflows import APPLICATION_STATUS, ONE_THING, OneThingWorkflow

log = get_logger(__name__)


class SubmitApplication(BaseModel):
    """POST /v1/applications: one one-thing, one applicant, one form."""

    model_config = ConfigDict(extra="forbid")

    one_thing: str = Field(min_length=1, examples=["birth"])
    applicant: Applicant
    form: dict[str, Any]


class Submitted(BaseModel):
    id: str
    one_thing: str
    catalogue_version: str
    status: str = "running"
    progress_url: str


class OneThingSummary(BaseModel):
    id: str
    version: str
    title: str
    description: str
    matters: list[dict[str, str]]
    form: dict[str, dict[str, Any]]


def create_app(settings: Settings) -> FastAPI:
    catalogue: Catalogue = load_catalogue(
        *([settings.catalogue_dir] if settings.catalogue_dir else [])
    )
    clients: dict[str, Client] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clients["temporal"] = await connect(settings)
        Supervisor(settings.state_dir).mark_ready("api")
        yield

    app = FastAPI(title="OneThing intake API", version="1", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/one-things")
    async def one_things() -> list[OneThingSummary]:
        return [
            OneThingSummary(
                id=ot.id,
                version=ot.version,
                title=ot.title,
                description=ot.description.strip(),
                matters=[
                    {"id": m.id, "title": m.title, "department": m.department} for m in ot.matters
                ],
                form={k: v.model_dump(exclude_none=True) for k, v in ot.form.items()},
            )
            for ot in catalogue
        ]

    @app.post("/v1/applications", status_code=201)
    async def submit(body: SubmitApplication, request: Request) -> Submitted:
        try:
            one_thing = catalogue.get(body.one_thing)
        except UnknownOneThing as exc:
            raise HTTPException(404, f"unknown one thing {body.one_thing!r}") from exc
        try:
            form = form_model(one_thing).model_validate(body.form)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", "form", *e["loc"])} for e in exc.errors()]
            ) from exc
        application_id = f"ot-{uuid.uuid4().hex}"
        snapshot = plan(one_thing, body.applicant, form)
        await clients["temporal"].start_workflow(
            OneThingWorkflow.run,
            ApplicationInput(
                application_id=application_id,
                plan=snapshot,
                submitted_at=datetime.now(UTC),
                dispatch_attempts=settings.dispatch_attempts,
            ),
            id=application_id,
            task_queue=settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ONE_THING, one_thing.id),
                    SearchAttributePair(APPLICATION_STATUS, "running"),
                ]
            ),
        )
        log.info("application_submitted", application_id=application_id, one_thing=one_thing.id)
        return Submitted(
            id=application_id,
            one_thing=one_thing.id,
            catalogue_version=one_thing.version,
            progress_url=str(request.url_for("progress", application_id=application_id)),
        )

    @app.get("/v1/applications/{application_id}", name="progress")
    async def progress(application_id: str) -> Progress:
        handle = clients["temporal"].get_workflow_handle_for(OneThingWorkflow.run, application_id)
        try:
            described = await handle.describe()
            if described.status is WorkflowExecutionStatus.COMPLETED:
                return await handle.result()
            return await handle.query(OneThingWorkflow.progress)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise HTTPException(404, f"no application {application_id!r}") from exc
            raise

    return app
