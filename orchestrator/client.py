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
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from infra.settings import Settings
from orchestrator.errors import OneThingError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class UnreadablePayload(OneThingError):
    """A payload encrypted with a key this process does not have, or tampered with."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"payload key {key_id!r} must be 32 bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._current]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self._current.encode())
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: self._current.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise UnreadablePayload(f"no payload key {key_id!r} here")
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            try:
                decoded.append(Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode())))
            except InvalidTag as exc:
                raise UnreadablePayload(f"a payload under key {key_id!r} was altered") from exc
        return decoded


def payload_codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(settings.payload_key_bytes(), settings.payload_key_id)


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted (failure messages and stack traces too)."""
    return dataclasses.replace(
        pydantic_data_converter,
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
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
                runtime=runtime,
                retry_config=retry,
            )
        except RuntimeError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


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
