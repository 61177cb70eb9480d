"""OneThing's signatures on what it sends towards departments and applicants: every task
command and every status event carries `signature_key_id` and an Ed25519 `signature` over its
signing bytes (events.proof), so no one who can merely write a topic speaks for OneThing.

The worker holds the private keys; the adapters, departments and the notifier hold only the
public keys and check a message before acting on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from events.contracts import ApplicationStatusChanged, TaskCommand
from events.proof import command_signing_bytes, status_signing_bytes
from infra.signing import Signer, Verifier

Signed = TypeVar("Signed", TaskCommand, ApplicationStatusChanged)
SigningBytes = Callable[[Mapping[str, Any]], bytes]


def signed(message: Signed, signer: Signer) -> Signed:
    """`message` with its key id and signature."""
    named = message.model_copy(update={"signature_key_id": signer.key_id, "signature": None})
    signing_bytes = (
        command_signing_bytes if isinstance(message, TaskCommand) else status_signing_bytes
    )
    signature = signer.sign(signing_bytes(named.model_dump(mode="json")))
    return named.model_copy(update={"signature": signature})


def refusal(data: Mapping[str, Any], verifier: Verifier, signing_bytes: SigningBytes) -> str | None:
    """Why a message's `data`, as it travelled, is not proven to be OneThing's; None if it is."""
    signature, key_id = data.get("signature"), data.get("signature_key_id")
    if not isinstance(signature, str) or not isinstance(key_id, str):
        return "not signed by OneThing"
    if not verifier.knows(key_id):
        return f"signed with an unknown key {key_id[:40]!r}"
    if not verifier.verify(key_id, signing_bytes(data), signature):
        return "OneThing's signature does not match"
    return None


def command_refusal(data: Mapping[str, Any], verifier: Verifier) -> str | None:
    return refusal(data, verifier, command_signing_bytes)


def status_refusal(data: Mapping[str, Any], verifier: Verifier) -> str | None:
    return refusal(data, verifier, status_signing_bytes)
