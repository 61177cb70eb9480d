"""Who sent a message: the proofs a department puts on its answers and a portal on its
requests, so no one who merely reads a topic can speak for them.

A department's answer carries `proof`, an Ed25519 signature over
`result_signing_bytes(result)` by the department's own private key, and `proof_key_id`, the id
OneThing holds its public key under (`infra.signing`). A portal's `ApplicationRequested`
carries an Ed25519 `signature` by the portal's own request key (never its API key) over
`request_signing_bytes(source, request)`.
OneThing signs its own commands and status events with Ed25519 over `message_signing_bytes`,
each kind with a key of its own (infra.message_signing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson


def prove(secret: bytes, message: bytes) -> str:
    """The proof of `message` under `secret`: HMAC-SHA256, base64url without padding."""
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def proven(secret: bytes, message: bytes, proof: str | None) -> bool:
    return proof is not None and hmac.compare_digest(prove(secret, message), proof)


def canonical(document: Mapping[str, Any]) -> bytes:
    """One byte string per document, whatever the key order: sorted keys, no spaces."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def result_signing_bytes(result: Mapping[str, Any]) -> bytes:
    """What a department's proof covers: its answer to one dispatch, as it says it (a field
    left out counts as its default: no outputs, no reason, no supplement fields)."""
    return canonical(
        {
            "reply_token": result.get("reply_token"),
            "department": result.get("department"),
            "outcome": result.get("outcome"),
            "outputs": result.get("outputs") or {},
            "reason": result.get("reason"),
            "supplement_fields": result.get("supplement_fields") or [],
            "department_reference": result.get("department_reference"),
        }
    )


def request_signing_bytes(source: str, request: Mapping[str, Any]) -> bytes:
    """What a portal's signature covers: who it is and everything it asks for (a request
    without materials signs as requests did before there were any)."""
    signed = {k: v for k, v in request.items() if k != "signature"}
    if not signed.get("materials"):
        signed.pop("materials", None)
    return canonical({"source": source, **signed})


def message_signing_bytes(message: Mapping[str, Any]) -> bytes:
    """What OneThing's signature on a task command or a status event covers: every field of it
    (its `data`, as it travels) but the signature itself. Each kind has its own key."""
    return canonical({k: v for k, v in message.items() if k != "signature"})


def key_id_of(reply_token: str) -> str | None:
    """The id of the key a reply token was signed with: its second dot-separated part."""
    parts = reply_token.split(".")
    return parts[1] if len(parts) == 4 else None
