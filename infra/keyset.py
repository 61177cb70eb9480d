"""A deployment's own keys, made once on its first start and kept in its state directory.

`onething up`, `onething demo` and the tests' deployments call `create_if_missing`; every
process's `Settings` then takes from `keys.json` each key its environment does not set. A
province sets its keys in the environment (or a secrets manager) instead: nothing is made.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

KEYSET = "keys.json"


def keyset_path(state_dir: Path) -> Path:
    return state_dir / KEYSET


def load(state_dir: Path) -> dict[str, Any]:
    """The key set kept in `state_dir`, or nothing if there is none."""
    file = keyset_path(state_dir)
    if not file.exists():
        return {}
    loaded: dict[str, Any] = orjson.loads(file.read_bytes())
    return loaded


def create_if_missing(state_dir: Path) -> Path:
    """Make the key set, readable by its owner only; keep one that exists."""
    file = keyset_path(state_dir)
    if file.exists():
        return file
    # imported here: every process reads the key set, only a deployment's first start makes
    # one, so no other process loads key generation and serialisation for it
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    state_dir.mkdir(parents=True, exist_ok=True)
    signing = Ed25519PrivateKey.generate()
    keys = {
        "api_keys": {
            role: {"key": secrets.token_urlsafe(24), "role": role}
            for role in ("portal", "operator", "department")
        },
        "applicant_ref_key": secrets.token_urlsafe(32),
        "payload_keys": {"k1": base64.b64encode(os.urandom(32)).decode()},
        "payload_key_id": "k1",
        "reply_keys": {"k1": secrets.token_urlsafe(32)},
        "reply_key_id": "k1",
        "identity_key": signing.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "identity_signing_key": signing.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    }
    descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(orjson.dumps(keys, option=orjson.OPT_INDENT_2))
    return file
