"""AES-256-GCM with named keys: what rests outside a process (workflow payloads in Temporal,
dead letters on the broker) is sealed under the current key and opened with any key kept for
rotation. The key id is bound to the ciphertext as associated data."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.contracts import DeadLetter
from infra.errors import InfraError
from infra.settings import Settings

NONCE_BYTES = 12
TAG = b"onething-sealed:v1:"  # then the key id, a newline, nonce and ciphertext


class Unsealable(InfraError):
    """Sealed under a key not here, or altered since."""


class Sealer:
    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"payload key {key_id!r} must be 32 bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current

    @classmethod
    def of(cls, settings: Settings) -> Sealer:
        return cls(settings.payload_key_bytes(), settings.payload_key_id)

    def seal(self, plain: bytes) -> bytes:
        """Nonce and ciphertext, under the current key (`current` names it)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._ciphers[self.current].encrypt(nonce, plain, self.current.encode())

    def open(self, key_id: str, sealed: bytes) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise Unsealable(f"no payload key {key_id!r} here")
        try:
            return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key_id.encode())
        except InvalidTag as exc:
            raise Unsealable(f"sealed under key {key_id!r} and altered since") from exc

    def seal_tagged(self, plain: bytes) -> bytes:
        """Sealed bytes that name their key, for a store that keeps nothing else beside them."""
        return TAG + self.current.encode() + b"\n" + self.seal(plain)

    def open_tagged(self, stored: bytes) -> bytes:
        """What `seal_tagged` sealed, opened; bytes kept before sealing began, as they are."""
        if not stored.startswith(TAG):
            return stored
        key_id, _, sealed = stored[len(TAG) :].partition(b"\n")
        return self.open(key_id.decode(), sealed)

    def dead_letter(
        self, reason: str, raw: bytes | None, topic: str, partition: int, offset: int
    ) -> DeadLetter:
        """A dead letter whose original bytes are sealed: only key holders read them."""
        sealed = self.seal(raw or b"")
        return DeadLetter.of(reason, sealed, self.current, (topic, partition, offset))

    def original(self, letter: DeadLetter) -> bytes:
        """A dead letter's original bytes, opened."""
        stored = base64.b64decode(letter.original)
        return stored if letter.key_id is None else self.open(letter.key_id, stored)
