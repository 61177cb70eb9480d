"""Workflow payloads encrypted with AES-256-GCM, keys rotated by id."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload

from infra.sealing import Unsealable
from orchestrator.client import EncryptionCodec

OLD, NEW = b"o" * 32, b"n" * 32
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data='{"name": "王小明"}'.encode())


async def test_payloads_round_trip_as_ciphertext() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    assert "王小明".encode() not in sealed.data and sealed.metadata["encryption-key-id"] == b"k1"
    assert await codec.decode([sealed]) == [PLAIN]


async def test_a_new_key_encrypts_while_old_payloads_stay_readable() -> None:
    [old] = await EncryptionCodec({"k1": OLD}, "k1").encode([PLAIN])
    rotated = EncryptionCodec({"k1": OLD, "k2": NEW}, "k2")
    [new] = await rotated.encode([PLAIN])
    assert new.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([old, new]) == [PLAIN, PLAIN]


async def test_a_tampered_or_foreign_payload_is_refused_and_a_plain_one_passes() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"x")
    with pytest.raises(Unsealable, match="altered"):
        await codec.decode([tampered])
    with pytest.raises(Unsealable, match="no payload key"):
        await EncryptionCodec({"k9": NEW}, "k9").decode([sealed])
    assert await codec.decode([PLAIN]) == [PLAIN]  # recorded before encryption
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptionCodec({"short": b"x"}, "short")
