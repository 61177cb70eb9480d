"""Sealing an applicant assertion for the asynchronous intake: a portal that publishes on
onething.applications sends the sealed form, never the assertion itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from infra.sealing import Sealer
from orchestrator.api.applicants import Assertion
from orchestrator.api.auth import Caller
from orchestrator.api.services import Services
from orchestrator.intake.sealed import seal_assertion


class SealedAssertion(BaseModel):
    sealed_assertion: str


def sealing_router(up: Callable[[], Services], sealer: Sealer, portals: Any) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/sealed-assertions", status_code=201)
    async def seal(assertion: Assertion = None, caller: Caller = portals) -> SealedAssertion:
        """The assertion in the header, verified for the calling portal (not spent: the
        intake spends it) and sealed under OneThing's payload key, for an
        `ApplicationRequested`'s `sealed_assertion`."""
        await asyncio.to_thread(up().intake.identity.verified, assertion, caller.name)
        return SealedAssertion(sealed_assertion=seal_assertion(sealer, str(assertion)))

    return router
