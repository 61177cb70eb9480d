"""What people do to a running application, each through a workflow update: the applicant
withdraws, answers a supplement, supplies a promised material; an operator withdraws or
decides about an escalated task. A tracking link answers supplements; it withdraws only with
the applicant's own assertion, and supplies no material (the portal does). Withdrawals and
operators' decisions go into the application's audit trail with who did them and why."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, JsonValue

from infra.logging import get_logger
from one_things import Catalogue
from orchestrator.api.applicants import ApplicationId, Assertion, TaskId
from orchestrator.api.auth import Caller, Role
from orchestrator.api.catalogue import check_supplement
from orchestrator.api.materials import ReadBy
from orchestrator.api.services import Services
from orchestrator.errors import UpdateRefused
from orchestrator.intake.identity import ASSERTION_HEADER
from orchestrator.ops.reset import reset_to_last_good
from orchestrator.stores.audit import AuditEntry
from orchestrator.stores.materials import MaterialStore
from orchestrator.workflow.models import (
    OperatorAction,
    OperatorDecision,
    Progress,
    Supplement,
    SuppliedMaterial,
    TaskState,
    Withdrawal,
)
from orchestrator.workflow.names import (
    APPLICANT_REF,
    OPERATOR,
    SUPPLEMENT,
    SUPPLY_MATERIAL,
    WITHDRAW,
)

log = get_logger(__name__)
Current = Callable[[str, Caller], Awaitable[Progress]]
Update = Callable[[str, str, BaseModel], Awaitable[str]]


class Decision(BaseModel):
    """An operator's decision about an escalated task or undo, and why."""

    decision: OperatorDecision
    reason: str = Field(min_length=1, max_length=500)


class Reset(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why; kept in the trail.")


class OperatorRead(BaseModel):
    """A read an operator made elsewhere (`onething ops show`), for the applicant's access log."""

    what: str = Field(min_length=1, max_length=100)
    why: str = Field(min_length=1, max_length=200)


class AuditReport(BaseModel):
    entries: list[AuditEntry]
    intact: bool
    broken: str | None = Field(description="The first broken entry and why, if any.")


def actions_router(
    up: Callable[[], Services],
    current: Current,
    update: Update,
    catalogue: Catalogue,
    materials: MaterialStore,
    sides: dict[str, Any],
    read_by: ReadBy,
) -> APIRouter:
    """`sides`: the dependencies of `applicants` (portal, operator), `applicant_or_link` (and
    a tracking link) and `operators`."""
    router = APIRouter()

    async def still_open(application_id: str, caller: Caller) -> Progress:
        progress = await current(application_id, caller)
        if progress.closed:
            raise HTTPException(409, f"the application is already {progress.status.value}")
        return progress

    async def applicant_themself(
        application_id: str, caller: Caller, assertion: str | None
    ) -> None:
        """A tracking link acts only with the applicant's own assertion, from the link's portal:
        the link alone is a bearer token, and undoing every completed task needs more."""
        if caller.role is not Role.TRACKER:
            return
        if not assertion:
            raise HTTPException(
                403,
                "a tracking link may not withdraw on its own: the applicant's assertion is "
                f"needed (header {ASSERTION_HEADER})",
            )
        vouched = await asyncio.to_thread(up().intake.identity.vouch, assertion, caller.name)
        described = await up().temporal.get_workflow_handle(application_id).describe()
        ref = described.typed_search_attributes.get(APPLICANT_REF)
        if ref not in {up().intake.applicant_ref(holder) for holder in vouched.holders()}:
            raise HTTPException(403, "the assertion names someone other than the applicant")

    async def record(application_id: str, caller: Caller, detail: dict[str, JsonValue]) -> None:
        kind = "operator" if caller.role is Role.OPERATOR else "applicant"
        await asyncio.to_thread(up().audit.append, application_id, kind, caller.name, detail)

    @router.post("/v1/applications/{application_id}/withdraw", status_code=202)
    async def withdraw(
        application_id: ApplicationId,
        body: Withdrawal,
        caller: Caller = sides["applicant_or_link"],
        assertion: Assertion = None,
    ) -> dict[str, str]:
        """Withdraw: the completed tasks are undone. The audit trail says who withdrew. A
        tracking link withdraws only with the applicant's own assertion for its portal."""
        await still_open(application_id, caller)
        await applicant_themself(application_id, caller, assertion)
        if caller.role is Role.OPERATOR:  # the trail names them; the applicant reads this
            body = Withdrawal(reason=f"by an operator: {body.reason}"[:500])
        status = await update(application_id, WITHDRAW, body)
        await record(application_id, caller, {"action": "withdraw", "reason": body.reason})
        log.info("application_withdrawn", application_id=application_id, by=caller.name)
        return {"id": application_id, "status": status}

    @router.post("/v1/applications/{application_id}/tasks/{task_id}/decision", status_code=202)
    async def decide(
        application_id: ApplicationId,
        task_id: TaskId,
        body: Decision,
        caller: Caller = sides["operators"],
    ) -> dict[str, str]:
        """An operator's decision about an escalated task (retry, fail) or undo (retry,
        resolve); `409` with the workflow's reason if it is not open."""
        action = OperatorAction(task_id=task_id, decision=body.decision, reason=body.reason)
        decided = await update(application_id, OPERATOR, action)
        detail: dict[str, JsonValue] = {
            "action": body.decision.value,
            "task": task_id,
            "reason": body.reason,
        }
        await record(application_id, caller, detail)
        return {"id": application_id, "task_id": task_id, "decision": decided}

    @router.post("/v1/applications/{application_id}/reset", status_code=202)
    async def reset(
        application_id: ApplicationId, body: Reset, caller: Caller = sides["operators"]
    ) -> dict[str, str]:
        """Take a workflow stuck on a bug back to its last good point, once the fix is
        deployed; it runs on from there in a new run."""
        try:
            run_id, event = await reset_to_last_good(up().temporal, application_id, body.reason)
        except UpdateRefused as exc:
            raise HTTPException(409, str(exc)) from exc
        detail: dict[str, JsonValue] = {"action": "reset", "to_event": event, "reason": body.reason}
        await record(application_id, caller, detail)
        return {"id": application_id, "run_id": run_id, "status": "reset"}

    @router.post("/v1/applications/{application_id}/reads", status_code=201)
    async def operator_read(
        application_id: ApplicationId, body: OperatorRead, caller: Caller = sides["operators"]
    ) -> dict[str, str]:
        """Log a read an operator is about to make elsewhere (the CLI reads histories from
        Temporal): the CLI holds no audit key, and reads nothing this did not log."""
        await current(application_id, caller)  # 404 for no such application
        await read_by(application_id, caller.name, {"what": body.what, "why": body.why})
        return {"id": application_id, "logged": "read"}

    @router.post("/v1/applications/{application_id}/tracking-links/revoke", status_code=202)
    async def revoke_links(
        application_id: ApplicationId, caller: Caller = sides["operators"]
    ) -> dict[str, str]:
        """Revoke every tracking link given for the application so far (one leaked, say)."""
        await current(application_id, caller)  # 404 for no such application
        await asyncio.to_thread(up().revocations.revoke, application_id, time.time())
        await record(application_id, caller, {"action": "revoke-links"})
        return {"id": application_id, "links": "revoked"}

    @router.get("/v1/applications/{application_id}/audit")
    async def trail(
        application_id: ApplicationId, caller: Caller = sides["operators"]
    ) -> AuditReport:
        """The application's audit trail, and whether its chain holds; the read is in it."""
        entries = await asyncio.to_thread(up().audit.entries, application_id)
        _, broken = await asyncio.to_thread(up().audit.verify, application_id)
        if entries:
            await read_by(application_id, caller.name, {"what": "audit trail", "why": "operator"})
        return AuditReport(entries=entries, intact=broken is None, broken=broken)

    @router.post("/v1/applications/{application_id}/supplements", status_code=202)
    async def supplement(
        application_id: ApplicationId, body: Supplement, caller: Caller = sides["applicant_or_link"]
    ) -> dict[str, str]:
        progress = await still_open(application_id, caller)
        task = progress.find(body.task_id)
        if task is None:
            raise HTTPException(404, f"no task {body.task_id!r} in this application")
        if task.state is not TaskState.AWAITING_SUPPLEMENT:
            raise HTTPException(409, f"task {body.task_id!r} is {task.state.value}")
        one_thing = catalogue.get(progress.one_thing)
        check_supplement(one_thing, task.matter, task.supplement_fields, body.fields)
        await update(application_id, SUPPLEMENT, body)
        return {"id": application_id, "task_id": body.task_id, "status": "redispatching"}

    @router.post("/v1/applications/{application_id}/materials", status_code=202)
    async def supply_material(
        application_id: ApplicationId,
        body: SuppliedMaterial,
        caller: Caller = sides["applicants"],
    ) -> dict[str, str]:
        """Supply a promised material (容缺) by its due time, uploaded (POST /v1/materials)."""
        await still_open(application_id, caller)
        if not await asyncio.to_thread(materials.has, body.sha256):
            raise HTTPException(422, "sha256: no such upload")
        await update(application_id, SUPPLY_MATERIAL, body)
        return {"id": application_id, "material": body.material, "status": "provided"}

    return router
