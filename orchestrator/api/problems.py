"""Every API error as RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from infra.logging import get_logger
from orchestrator.client import unavailable

log = get_logger(__name__)
RETRY_AFTER = {"Retry-After": "5"}

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://onething.gov.cn/problems/"


def problem(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    title = HTTPStatus(status).phrase
    body = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def install(app: FastAPI) -> None:
    """Answer HTTP errors and invalid requests with problem details."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

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
