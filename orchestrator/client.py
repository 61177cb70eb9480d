"""One way to connect to Temporal: pydantic payloads, encrypted, on every client.

Every client (worker, API, bridge, CLI) encodes through `EncryptionCodec` (AES-256-GCM, the
key's id in each payload's metadata), so inputs, results, queries, updates, signals, activity
payloads and failure details are ciphertext in Temporal; old key ids stay readable while keys
rotate. A payload that is not ours (no `binary/encrypted` encoding) passes through unchanged,
so histories recorded before encryption still replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import ClassVar, Self

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from infra import tracing
from infra.connections import temporal_options
from infra.sealing import Sealer
from infra.settings import Settings
from orchestrator.ops.signed_requests import SigningRequests

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        self._sealer = Sealer(keys, current)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._sealer.current.encode()
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID: key_id},
                data=self._sealer.seal(payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            decoded.append(Payload.FromString(self._sealer.open(key_id, payload.data)))
        return decoded


class SharedPayloadConverter(PydanticPayloadConverter):
    """The process's one pydantic payload converter, whoever asks for a new one.

    The SDK builds a payload converter for every workflow run and every workflow activation;
    each built its converters again and started an empty cache of pydantic type adapters (5 %
    of the worker's busy CPU in a profile of openings one at a time, and the adapters held by
    every cached run). Its state is that cache, which is safe to share between threads."""

    _one: ClassVar[SharedPayloadConverter | None] = None

    def __new__(cls) -> Self:
        if cls._one is None:
            one = super().__new__(cls)
            PydanticPayloadConverter.__init__(one)
            cls._one = one
        return cls._one  # type: ignore[return-value]

    def __init__(self) -> None:
        """Built once, in `__new__`."""


def payload_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(settings.payload_key_bytes(), settings.payload_key_id)


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted (failure messages and stack traces too)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SharedPayloadConverter,
        payload_codec=payload_codec(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: Settings,
    wait: float = 30.0,
    runtime: Runtime | None = None,
    give_up_after: timedelta | None = None,
) -> Client:
    """Connect, waiting up to `wait` seconds for a server that is still starting.

    `give_up_after`: how long one call retries an unavailable server before it raises (the
    API answers 503 rather than keep a caller waiting); default: the SDK's own (10 s).
    """
    retry = None
    if give_up_after is not None:
        retry = RetryConfig(max_elapsed_time_millis=int(give_up_after.total_seconds() * 1000))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await Client.connect(
                settings.temporal,
                **temporal_options(settings),
                data_converter=data_converter(settings),
                runtime=runtime,
                retry_config=retry,
                interceptors=[*tracing.interceptors(), *_signing(settings)],
            )
        except RuntimeError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


def _signing(settings: Settings) -> list[SigningRequests]:
    """Sign what this client sends to running applications, if it holds a request key."""
    signer = settings.signer("request")
    return [] if signer is None else [SigningRequests(signer)]


# Statuses that say "not now": the server is away, overloaded or slow; the call may be repeated.
UNAVAILABLE = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
    }
)


def unavailable(exc: RPCError) -> bool:
    """True if Temporal could not answer now (an outage), not that it refused the call."""
    return exc.status in UNAVAILABLE
