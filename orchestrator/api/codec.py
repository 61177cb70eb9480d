"""The codec server: operators read encrypted histories in the Temporal Web UI.

Point the UI at `<API>/codec` (its "Codec Server" setting, with "pass access token" and the
operator's API key as the token); `POST /codec/decode` and `/codec/encode` take and give
`{"payloads": [...]}` in protobuf JSON, as the UI sends them. Operators only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from infra.sealing import Unsealable

Coding = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


class WirePayload(BaseModel):
    """One payload in protobuf JSON: metadata values and data in base64."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class WirePayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[WirePayload] = Field(default_factory=list, max_length=1000)


def codec_router(codec: PayloadCodec, operators: Any) -> APIRouter:
    router = APIRouter(prefix="/codec", dependencies=[Depends(operators)], tags=["operators"])

    @router.post("/decode")
    async def decode(body: WirePayloads) -> WirePayloads:
        """Decrypt payloads for an operator's eyes."""
        return await _code(codec.decode, body)

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
