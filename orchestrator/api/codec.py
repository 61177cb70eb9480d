"""The codec server: operators read encrypted histories in the Temporal Web UI.

Point the UI at `<API>/codec` (its "Codec Server" setting, with "pass access token" and the
operator's API key as the token); `POST /codec/decode` and `/codec/encode` take and give
`{"payloads": [...]}` in protobuf JSON, as the UI sends them. Operators only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

Coding = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def codec_router(codec: PayloadCodec, operators: Any) -> APIRouter:
    router = APIRouter(prefix="/codec", dependencies=[Depends(operators)], tags=["operators"])

    @router.post("/decode")
    async def decode(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """Decrypt payloads for an operator's eyes."""
        return await _code(codec.decode, body)

    @router.post("/encode")
    async def encode(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """Encrypt payloads an operator sends from the UI (a signal, say)."""
        return await _code(codec.encode, body)

    return router


async def _code(coding: Coding, body: dict[str, Any]) -> dict[str, Any]:
    payloads = json_format.ParseDict(body, Payloads())
    coded = Payloads(payloads=await coding(list(payloads.payloads)))
    return json_format.MessageToDict(coded)
