"""告知承诺 verified afterwards: a department's verdict on a commitment, kept once; a false one
fails its matters while the application runs, and stays on record either way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from one_things.materials import Settled
from orchestrator.api.applicants import ApplicationId
from orchestrator.api.auth import Caller
from orchestrator.api.services import Services
from orchestrator.errors import AlreadyVerified, UpdateRefused
from orchestrator.ops import updates
from orchestrator.stores.commitments import CommitmentVerdict, VerifiedCommitment
from orchestrator.workflow.models import BrokenCommitment, Progress
from orchestrator.workflow.names import APPLICANT_REF, COMMITMENT_BROKEN


def commitments_router(
    up: Callable[[], Services],
    current: Callable[[str, Caller], Awaitable[Progress]],
    departments_side: Any,
    operators: Any,
) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/applications/{application_id}/commitments", status_code=201)
    async def verify(
        application_id: ApplicationId,
        verdict: CommitmentVerdict,
        response: Response,
        caller: Caller = departments_side,
    ) -> VerifiedCommitment:
        """A department's verdict on a commitment made instead of a material, once: given by
        the department its key is bound to. Found untrue while the application runs, the
        matters it went to fail as their policies say."""
        department = verdict.department or caller.department
        if department is None:
            raise HTTPException(422, "department: an operator names the department that found it")
        refused = caller.refuses(department)
        if refused:
            raise HTTPException(403, refused)
        progress = await current(application_id, caller)
        material = next((m for m in progress.materials if m.id == verdict.material), None)
        if material is None or material.settled not in (Settled.COMMITTED, Settled.BROKEN):
            raise HTTPException(404, f"no commitment on {verdict.material!r} in this application")
        if department not in {progress.task(m).department for m in material.matters}:
            raise HTTPException(403, f"{department} does not handle {material.title}")
        described = await up().temporal.get_workflow_handle(application_id).describe()
        verified = VerifiedCommitment(
            **verdict.model_dump(exclude={"department"}),
            department=department,
            application_id=application_id,
            applicant_ref=described.typed_search_attributes.get(APPLICANT_REF) or "",
            at=datetime.now(UTC),
        )
        try:
            await asyncio.to_thread(up().commitments.record, verified)
        except AlreadyVerified as exc:
            raise HTTPException(409, str(exc)) from exc
        response.headers["Location"] = "/v1/commitments"
        if not verdict.kept and not progress.closed:
            broken = BrokenCommitment(
                material=verdict.material, department=department, note=verdict.note
            )
            with contextlib.suppress(UpdateRefused):  # it ended meanwhile: the verdict stands
                await updates.send(up().temporal, application_id, COMMITMENT_BROKEN, broken)
        return verified

    @router.get("/v1/commitments", dependencies=[operators])
    async def broken() -> list[VerifiedCommitment]:
        """Every commitment a department found untrue, newest first."""
        return await asyncio.to_thread(up().commitments.broken)

    return router
