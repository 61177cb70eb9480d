"""Uploading a material, and a department reading one through its authorised link."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from orchestrator.api.auth import Caller
from orchestrator.api.problems import PROBLEM_JSON
from orchestrator.stores.materials import MaterialLinks, MaterialStore, StoredMaterial

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The content's sha256.")]
PROBLEM = "#/components/schemas/Problem"
UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png", "application/ofd")


def materials_router(
    store: MaterialStore, links: MaterialLinks, uploaders: Any, readers: Any
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
        expires: Annotated[int, Query(ge=0)],
        key: Annotated[str, Query(max_length=64)],
        sig: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
        _: Caller = readers,
    ) -> Response:
        """A material, for a department key holding a link signed for its department, until
        the link expires (commands carry the links)."""
        refused = links.check(sha256, department, expires, key, sig)
        if refused:
            raise HTTPException(403, refused)
        found = await asyncio.to_thread(store.get, sha256)
        if found is None:
            raise HTTPException(404, "no such material")
        content, kind = found
        return Response(content, media_type=kind)

    return router
