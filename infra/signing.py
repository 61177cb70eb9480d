"""Ed25519 signatures by key id: the holder of a private key signs, anyone with the public key
verifies, and rotation keeps what was signed before verifiable (old public keys stay listed).

Keys are PEM strings (PKCS#8 private, SubjectPublicKeyInfo public); signatures are base64url
without padding.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class NotAnEd25519Key(ValueError):
    """A key that is not an Ed25519 key of the kind asked for."""


def private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise NotAnEd25519Key(f"not an Ed25519 private key but {type(key).__name__}")
    return key


def public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise NotAnEd25519Key(f"not an Ed25519 public key but {type(key).__name__}")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def new_pair() -> tuple[str, str]:
    """A fresh key pair: (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    return private_pem(key), public_pem(key)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs with one private key, named by its id."""

    def __init__(self, key_id: str, pem: str) -> None:
        self.key_id = key_id
        self._key = private_key(pem)

    def sign(self, message: bytes) -> str:
        return _b64(self._key.sign(message))

    def public_pem(self) -> str:
        return public_pem(self._key)


class Verifier:
    """Checks signatures with the public keys it knows, by key id."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = {key_id: public_key(pem) for key_id, pem in keys.items()}

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    def verify(self, key_id: str | None, message: bytes, signature: str | None) -> bool:
        """Whether a key known here made `signature` over `message`; a message that names no
        key or carries no signature is not proven."""
        key = None if key_id is None else self._keys.get(key_id)
        if key is None or signature is None:
            return False
        try:
            key.verify(_unb64(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True
