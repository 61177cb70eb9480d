"""Every API error as RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from infra.logging import get_logger
from orchestrator.client import unavailable
from orchestrator.errors import NotAuthenticated

log = get_logger(__name__)
RETRY_AFTER = {"Retry-After": "5"}

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://onething.gov.cn/problems/"


class Problem(BaseModel):
    """RFC 9457 problem details: every error the API answers."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="On 422: where each invalid field is and what is wrong."
    )
    error_id: str | None = Field(default=None, description="On 500: the log line's id.")


# what every authenticated operation may answer besides its success
ERRORS = {
    401: "no API key, or an unknown one; no valid applicant assertion or tracking link",
    403: "the caller's role may not do this",
    404: "no such application, task, one thing or department (or not the caller's)",
    409: "the application or task is not in a state that allows it",
    410: "a tracking link's application has ended: the link works no more",
    413: "the body is too large",
    422: "the request is invalid: `errors` says where and why",
    503: "Temporal or the broker is unavailable for a moment: retry after `Retry-After`",
}


def _fields(status: int, detail: str, instance: str, extensions: dict[str, Any]) -> dict[str, Any]:
    title = HTTPStatus(status).phrase
    return {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }


def problem_body(status: int, detail: str, instance: str) -> bytes:
    return orjson.dumps(_fields(status, detail, instance, {}))


def problem(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = _fields(status, detail, request.url.path, extensions)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def document(app: FastAPI) -> None:
    """The OpenAPI document says what the API answers: every error as problem details on
    every authenticated operation, `Location` on each `201`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for schema in ("HTTPValidationError", "ValidationError"):
            schemas.pop(schema, None)
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in spec["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                if "security" in operation:
                    for status, description in ERRORS.items():
                        responses[str(status)] = {"description": description, "content": content}
                if "201" in responses:
                    responses["201"]["headers"] = {
                        "Location": {
                            "description": "Where the created resource is read.",
                            "schema": {"type": "string"},
                        }
                    }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Answer HTTP errors and invalid requests with problem details."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return problem(request, 401, str(exc))

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> JSONResponse:
        if unavailable(exc):  # an outage, or no worker answered in time: not the caller's fault
            log.warning("temporal_unavailable", status=exc.status.name, path=request.url.path)
            return problem(request, 503, "the service is unavailable for a moment", RETRY_AFTER)
        if exc.status is RPCStatusCode.FAILED_PRECONDITION:  # its workflow task is failing
            log.error("application_unreadable", status=exc.status.name, path=request.url.path)
            return problem(request, 503, "the application cannot be read for now", RETRY_AFTER)
        return defect_problem(request, exc)

    @app.exception_handler(WorkflowQueryFailedError)
    async def query_failed(request: Request, exc: Exception) -> JSONResponse:
        log.error("application_unreadable", path=request.url.path)
        return problem(request, 503, "the application cannot be read for now", RETRY_AFTER)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def update_timeout(request: Request, exc: Exception) -> JSONResponse:
        log.warning("update_timed_out", path=request.url.path)
        return problem(request, 503, "the application did not answer in time", RETRY_AFTER)

    @app.exception_handler(Exception)
    async def defect(request: Request, exc: Exception) -> JSONResponse:
        return defect_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "body" for e in errors)
        return problem(request, 422, f"invalid: {fields}", errors=errors)


def defect_problem(request: Request, exc: Exception) -> JSONResponse:
    """A 500 whose error id the log line carries, so an operator finds what happened."""
    error_id = uuid.uuid4().hex[:16]
    log.error("request_failed", path=request.url.path, error_id=error_id, exc_info=exc)
    return problem(
        request, 500, f"the request could not be handled (error {error_id})", error_id=error_id
    )
