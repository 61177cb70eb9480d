"""Uploading a material, and a department reading one through its authorised link."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import JsonValue

from infra.sealing import Unsealable
from orchestrator.api.auth import Caller, Role
from orchestrator.api.problems import PROBLEM_JSON
from orchestrator.stores.materials import Grant, MaterialLinks, MaterialStore, StoredMaterial

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The content's sha256.")]
PROBLEM = "#/components/schemas/Problem"
ReadBy = Callable[[str, str, dict[str, JsonValue]], Awaitable[None]]
UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/ofd")


def materials_router(
    store: MaterialStore, links: MaterialLinks, read_by: ReadBy, uploaders: Any, readers: Any
) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/materials",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    kind: {"schema": {"type": "string", "format": "binary"}}
                    for kind in UPLOAD_TYPES
                },
            }
        },
        responses={
            415: {
                "description": "not a PDF, JPEG, PNG or OFD document",
                "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM}}},
            }
        },
    )
    async def upload(request: Request, response: Response, _: Caller = uploaders) -> StoredMaterial:
        """Keep a material (PDF, JPEG, PNG or OFD, the body as it is); an application names
        it by the `sha256` answered. The same document uploaded twice is one material."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in UPLOAD_TYPES:
            raise HTTPException(415, f"a material is one of {', '.join(UPLOAD_TYPES)}")
        try:
            stored = await asyncio.to_thread(store.put, await request.body(), kind)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        response.headers["Location"] = f"/v1/materials/{stored.sha256}"  # read with a link
        return stored

    @router.get("/v1/materials/{sha256}")
    async def read(
        sha256: Sha256,
        department: Annotated[str, Query(pattern=r"^[a-z]{2,16}$")],
        application: Annotated[str, Query(pattern=r"^ot-[0-9a-f]{32}$")],
        material: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
        expires: Annotated[int, Query(ge=0)],
        key: Annotated[str, Query(max_length=64)],
        sig: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
        caller: Caller = readers,
    ) -> Response:
        """A material, for a department key holding a link signed for its department, until
        the link expires (commands carry the links); another department's key is refused.
        The read goes into the applicant's access log."""
        grant = Grant(
            sha256=sha256,
            department=department,
            application=application,
            material=material,
            expires=expires,
        )
        refused = links.check(grant, key, sig) or caller.refuses(department)
        if refused:
            raise HTTPException(403, refused)
        try:
            found = await asyncio.to_thread(store.get, sha256)
        except Unsealable as exc:
            raise HTTPException(409, f"the material kept is not readable as sent: {exc}") from exc
        if found is None:
            raise HTTPException(404, "no such material")
        who = caller.name if caller.role is Role.OPERATOR else department
        await read_by(application, who, {"what": f"material {material}", "why": "its link"})
        content, kind = found
        return Response(content, media_type=kind)

    return router
