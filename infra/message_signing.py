"""OneThing's signatures on what it sends towards departments and applicants: every task
command and every status event carries `signature_key_id` and an Ed25519 `signature` over its
signing bytes (events.proof), so no one who can merely write a topic speaks for OneThing.

The worker holds the private keys; the adapters, departments and the notifier hold only the
public keys and check a message before acting on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from events.contracts import ApplicationStatusChanged, TaskCommand
from events.proof import message_signing_bytes
from infra.signing import Signer, Verifier

Signed = TypeVar("Signed", TaskCommand, ApplicationStatusChanged)


def signed(message: Signed, signer: Signer) -> Signed:
    """`message` with its key id and signature."""
    named = message.model_copy(update={"signature_key_id": signer.key_id, "signature": None})
    signature = signer.sign(message_signing_bytes(named.model_dump(mode="json")))
    return named.model_copy(update={"signature": signature})


def refusal(data: Mapping[str, Any], verifier: Verifier) -> str | None:
    """Why a message's `data`, as it travelled, is not proven to be OneThing's by one of
    `verifier`'s keys (the command keys or the status keys); None if it is."""
    signature, key_id = data.get("signature"), data.get("signature_key_id")
    if not isinstance(signature, str) or not isinstance(key_id, str):
        return "not signed by OneThing"
    if not verifier.knows(key_id):
        return f"signed with an unknown key {key_id[:40]!r}"
    if not verifier.verify(key_id, message_signing_bytes(data), signature):
        return "OneThing's signature does not match"
    return None
