"""The codec server: operators read encrypted histories in the Temporal Web UI.

Point the UI at `<API>/codec` (its "Codec Server" setting, with "pass access token" and the
operator's API key as the token); `POST /codec/decode` and `/codec/encode` take and give
`{"payloads": [...]}` in protobuf JSON, as the UI sends them. Operators only.

Every decode is an operator reading an applicant's data: it goes into the access log of each
application a decoded payload names (`application_id`), and into the `codec` trail when a
payload names none (the UI does not say which history it shows).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from infra.sealing import Unsealable
from orchestrator.api.auth import Caller
from orchestrator.api.materials import ReadBy

Coding = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
UNNAMED = "codec"  # the trail of decodes that name no application


class WirePayload(BaseModel):
    """One payload in protobuf JSON: metadata values and data in base64."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class WirePayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[WirePayload] = Field(default_factory=list, max_length=1000)


def codec_router(codec: PayloadCodec, operators: Any, read_by: ReadBy) -> APIRouter:
    router = APIRouter(prefix="/codec", dependencies=[operators], tags=["operators"])

    @router.post("/decode")
    async def decode(body: WirePayloads, caller: Caller = operators) -> WirePayloads:
        """Decrypt payloads for an operator's eyes; the read is in the access log."""
        decoded = await _code(codec.decode, body)
        read = {"what": "workflow history", "why": "operator (codec server)"}
        for application_id in sorted(_applications(decoded)) or [UNNAMED]:
            await read_by(application_id, caller.name, dict(read))
        return decoded

    @router.post("/encode")
    async def encode(body: WirePayloads) -> WirePayloads:
        """Encrypt payloads an operator sends from the UI (a signal, say)."""
        return await _code(codec.encode, body)

    return router


async def _code(coding: Coding, body: WirePayloads) -> WirePayloads:
    try:
        payloads = json_format.ParseDict(body.model_dump(), Payloads())
        coded = Payloads(payloads=await coding(list(payloads.payloads)))
    except json_format.ParseError as exc:
        raise HTTPException(422, f"payloads: not protobuf JSON (base64 fields): {exc}") from exc
    except Unsealable as exc:
        raise HTTPException(422, f"payloads: {exc}") from exc
    return WirePayloads.model_validate(json_format.MessageToDict(coded))


def _applications(decoded: WirePayloads) -> set[str]:
    """The applications that decoded payloads name."""
    named = set()
    for payload in decoded.payloads:
        try:
            document = orjson.loads(base64.b64decode(payload.data))
        except (ValueError, orjson.JSONDecodeError):
            continue
        if isinstance(document, dict) and isinstance(document.get("application_id"), str):
            named.add(document["application_id"])
    return named
