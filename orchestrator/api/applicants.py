"""What a portal reads for the person the identity provider vouches for: that person's
applications and e-licences, never anyone else's. The person is named by the assertion in
the `X-Applicant-Assertion` header, so no ID number travels in a query string."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query
from temporalio.service import RPCError, RPCStatusCode

from one_things.licences import ELicence
from orchestrator.api.auth import Caller
from orchestrator.api.services import Services
from orchestrator.intake.identity import ASSERTION_HEADER
from orchestrator.workflow.models import Record
from orchestrator.workflow.names import APPLICANT_REF, APPLICATION_STATUS, ONE_THING

Assertion = Annotated[
    str | None,
    Header(
        alias=ASSERTION_HEADER,
        max_length=8192,
        description="The identity provider's signed assertion (JWT) of the applicant.",
    ),
]


ApplicationId = Annotated[
    str, Path(pattern=r"^ot-[0-9a-f]{32}$", description="An application's id, `ot-` and 32 hex.")
]
TaskId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="A task of the plan.")]


class ApplicationSummary(Record):
    id: str
    one_thing: str
    status: str
    submitted_at: datetime
    progress_url: str


class ApplicationPage(Record):
    items: list[ApplicationSummary]
    next_cursor: str | None = None


def applicants_router(up: Callable[[], Services], applicants_side: Any) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/applications")
    async def applications(
        assertion: Assertion = None,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
        size: Annotated[int, Query(ge=1, le=100)] = 50,
        caller: Caller = applicants_side,
    ) -> ApplicationPage:
        """The asserted applicant's applications, those submitted for them and those started
        for them, and those of whom they act for, newest first, a page at a time
        (`next_cursor` fetches the next)."""
        vouched = await asyncio.to_thread(up().intake.identity.vouch, assertion, caller.name)
        refs = [up().intake.applicant_ref(h) for h in vouched.holders()]
        query = f"{APPLICANT_REF.name} IN ({', '.join(repr(ref) for ref in refs)})"
        try:
            token = base64.urlsafe_b64decode(cursor) if cursor else None
        except (binascii.Error, ValueError) as exc:
            raise HTTPException(422, "cursor: not a cursor this API gave") from exc
        pages = up().temporal.list_workflows(query, page_size=size, next_page_token=token)
        try:
            await pages.fetch_next_page()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.INVALID_ARGUMENT:
                raise
            raise HTTPException(422, "cursor: not a cursor this API gave") from exc
        items = []
        for wf in pages.current_page or ():
            submitted_by = await wf.memo_value("submitted_by", default=None)
            if not caller.may_see(wf.id, submitted_by, departments=()):  # portals and operators
                continue
            attrs = wf.typed_search_attributes
            items.append(
                ApplicationSummary(
                    id=wf.id,
                    one_thing=attrs.get(ONE_THING) or "",
                    status=attrs.get(APPLICATION_STATUS) or "",
                    submitted_at=wf.start_time,
                    progress_url=f"/v1/applications/{wf.id}",
                )
            )
        following = pages.next_page_token
        next_cursor = base64.urlsafe_b64encode(following).decode() if following else None
        return ApplicationPage(items=items, next_cursor=next_cursor)

    @router.get("/v1/licences")
    async def licences(
        assertion: Assertion = None, caller: Caller = applicants_side
    ) -> list[ELicence]:
        """The asserted person's valid e-licences, and those of whom they act for (their
        companies, their principals)."""
        vouched = await asyncio.to_thread(up().intake.identity.vouch, assertion, caller.name)
        holders = vouched.holders()
        return await asyncio.to_thread(up().licences.held_by, holders)

    return router
